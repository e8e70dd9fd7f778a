package catalog

// Category is a closed set of application categories. The zero value is
// CategoryUnknown.
type Category uint8

// The categories. Order is part of the API only through CategoryNames.
const (
	CategoryUnknown        Category = iota
	CategorySocial                  // social networks
	CategoryMessaging               // chat and messengers
	CategoryVideo                   // on-demand video
	CategoryStreaming               // live streaming
	CategorySearch                  // search engines and portals
	CategoryNews                    // news sites
	CategoryMail                    // webmail and mail services
	CategoryCloud                   // cloud platforms and storage
	CategoryCDN                     // content delivery networks
	CategoryCollaboration           // office suites, meetings
	CategoryVoIP                    // calls
	CategoryVPN                     // VPN services and protocols
	CategoryP2P                     // peer-to-peer file sharing
	CategoryGaming                  // games and game stores
	CategoryShopping                // e-commerce
	CategorySoftwareUpdate          // OS and app updates, app stores
	CategoryNetwork                 // network services: DNS resolvers, speed tests
	CategoryWeb                     // general web sites and portals
	CategoryAds                     // advertising, analytics, tracking
	CategoryAdult                   // adult content
	CategoryAnonymizer              // anonymity networks and proxies
	CategoryDev                     // developer services
	CategoryMusic                   // music and audio
	CategoryFinance                 // payments, banking
	CategoryGovernment              // government services
	CategoryEducation               // reference and education
	CategoryRemoteAccess            // remote desktop and support
	numCategories
)

var categoryNames = [numCategories]string{
	CategoryUnknown:        "unknown",
	CategorySocial:         "social",
	CategoryMessaging:      "messaging",
	CategoryVideo:          "video",
	CategoryStreaming:      "streaming",
	CategorySearch:         "search",
	CategoryNews:           "news",
	CategoryMail:           "mail",
	CategoryCloud:          "cloud",
	CategoryCDN:            "cdn",
	CategoryCollaboration:  "collaboration",
	CategoryVoIP:           "voip",
	CategoryVPN:            "vpn",
	CategoryP2P:            "p2p",
	CategoryGaming:         "gaming",
	CategoryShopping:       "shopping",
	CategorySoftwareUpdate: "software-update",
	CategoryNetwork:        "network",
	CategoryWeb:            "web",
	CategoryAds:            "ads",
	CategoryAdult:          "adult",
	CategoryAnonymizer:     "anonymizer",
	CategoryDev:            "dev",
	CategoryMusic:          "music",
	CategoryFinance:        "finance",
	CategoryGovernment:     "government",
	CategoryEducation:      "education",
	CategoryRemoteAccess:   "remote-access",
}

// String returns the category's name as written in apps.yaml and policies.
func (c Category) String() string {
	if c >= numCategories {
		return "unknown"
	}
	return categoryNames[c]
}

// ParseCategory maps a name (exact, lower-case) to its Category.
func ParseCategory(s string) (Category, bool) {
	for i, n := range categoryNames {
		if n == s {
			return Category(i), true
		}
	}
	return CategoryUnknown, false
}

// CategoryNames returns every category name, in Category order.
func CategoryNames() []string {
	return append([]string(nil), categoryNames[:]...)
}
