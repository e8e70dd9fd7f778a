// Package compare runs Weir over the nDPI peer corpus and compares its
// classification with nDPI's expected output flow by flow: master protocol,
// application and server name, over the flows nDPI labels with
// "Confidence: DPI". The mapping between nDPI's names and Weir's is
// documented in docs/accuracy.md (protocols: masterAliases below;
// applications: the ndpi lists of the catalog, internal/classify/catalog/apps.yaml).
//
// Used by TestAccuracy (the accuracy bar) and by the ndpicompare command,
// which regenerates docs/accuracy.md.
package compare
