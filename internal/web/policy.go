package web

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// RuleView is one policy rule as the dashboard shows it. The text is a
// readable flattening of the YAML, not a re-parse: the policy was validated
// when it was loaded, and the dashboard must show whatever text is stored
// even if this build's language differs.
type RuleView struct {
	Name   string `json:"name"`
	Match  string `json:"match"`  // "app: facebook, twitter; group: campus" or "any"
	When   string `json:"when"`   // "days: mon, tue; from: 18:00; to: 06:00" or "always"
	Action string `json:"action"` // "throttle 1mbit per group"
}

// PolicyView is a policy rendered for display.
type PolicyView struct {
	Default string
	Notice  string
	Rules   []RuleView
}

var errPolicyShape = errors.New("policy: top level is not a mapping")

// RenderPolicy flattens a policy file for display.
func RenderPolicy(src []byte) (*PolicyView, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errPolicyShape
	}
	v := &PolicyView{Rules: []RuleView{}}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, val := top.Content[i].Value, top.Content[i+1]
		switch k {
		case "default":
			v.Default = flat(val)
		case "notice":
			v.Notice = flat(val)
		case "rules":
			for _, r := range val.Content {
				v.Rules = append(v.Rules, ruleView(r))
			}
		}
	}
	return v, nil
}

func ruleView(n *yaml.Node) RuleView {
	rv := RuleView{Match: "any", When: "always"}
	if n.Kind != yaml.MappingNode {
		rv.Name = flat(n)
		return rv
	}
	var rate, per string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "name":
			rv.Name = flat(val)
		case "match":
			if s := flat(val); s != "" {
				rv.Match = s
			}
		case "when":
			if s := flat(val); s != "" {
				rv.When = s
			}
		case "action":
			rv.Action = flat(val)
		case "rate":
			rate = flat(val)
		case "per":
			per = flat(val)
		}
	}
	if rate != "" {
		rv.Action += " " + rate
	}
	if per != "" {
		rv.Action += " per " + per
	}
	return rv
}

// flat renders a node on one line: scalars as is, sequences joined with
// ", ", mappings as "key: value; key: value" in file order.
func flat(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			parts = append(parts, flat(c))
		}
		return strings.Join(parts, ", ")
	case yaml.MappingNode:
		parts := make([]string, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts = append(parts, n.Content[i].Value+": "+flat(n.Content[i+1]))
		}
		return strings.Join(parts, "; ")
	case yaml.AliasNode:
		return "*" + n.Value
	}
	return ""
}
