package marker

import (
	"html"
	"strconv"
	"strings"
)

// IPID is the IPv4 identification of every IPv4 packet Weir injects
// (resets, ICMP, HTTP notices, DNS answers): 0x5745, "WE" in ASCII.
// Observers can tell Weir's packets from the server's by it.
const IPID = 0x5745

// RSTPrefix starts the payload of every TCP reset Weir sends. RFC 9293
// §3.5.3 lets a RST carry data ("diagnostic information"); Weir's is one
// line of ASCII: "weir-reset; rule=<rule>; notice=<url>".
const RSTPrefix = "weir-reset"

// maxText bounds the marker texts Weir writes: a rule name or notice URL
// cannot blow up a packet.
const maxText = 200

// RSTPayload returns the reset's payload for rule and notice.
func RSTPayload(rule, notice string) []byte {
	return []byte(RSTPrefix + "; rule=" + clean(rule) + "; notice=" + clean(notice))
}

// ParseRST recognises a Weir reset payload.
func ParseRST(payload []byte) (rule, notice string, ok bool) {
	return parseKV(string(payload), RSTPrefix)
}

// EDEPrefix starts the EXTRA-TEXT of the Extended DNS Error (RFC 8914) in
// every DNS answer Weir gives for a blocked name.
const EDEPrefix = "weir"

// EDE info-codes Weir uses (RFC 8914 §4).
const (
	EDEBlocked  = 15 // blocked by the operator's policy
	EDECensored = 16 // blocked because an external authority requires it
	EDEFiltered = 17 // blocked at the client's request (e.g. a filtering service it chose)
)

// EDEText returns the EXTRA-TEXT: "weir; rule=<rule>; notice=<url>".
func EDEText(rule, notice string) string {
	return EDEPrefix + "; rule=" + clean(rule) + "; notice=" + clean(notice)
}

// ParseEDEText recognises Weir's EXTRA-TEXT.
func ParseEDEText(s string) (rule, notice string, ok bool) {
	return parseKV(s, EDEPrefix)
}

// RuleHeader is the response header naming the policy rule in Weir's
// HTTP 451 notice (the Link header carries the notice URL, RFC 7725).
const RuleHeader = "Weir-Rule"

// HTTP451 returns a complete HTTP/1.1 response: status 451 with a
// Link: <notice>; rel="blocked-by" header (RFC 7725 §3), the Weir-Rule
// header, Connection: close, and a short HTML page naming the rule.
func HTTP451(rule, notice, host string) []byte {
	rule, notice, host = clean(rule), clean(notice), clean(host)
	body := "<!doctype html><html><head><meta charset=\"utf-8\"><title>451 Unavailable For Legal Reasons</title></head>" +
		"<body><h1>Unavailable For Legal Reasons</h1><p>Access to <b>" + html.EscapeString(host) +
		"</b> is blocked by this network's policy, rule <b>" + html.EscapeString(rule) + "</b>.</p>" +
		"<p>Why, and who decided it: <a href=\"" + html.EscapeString(notice) + "\">" + html.EscapeString(notice) + "</a></p>" +
		"<p><small>Sent by Weir, not by " + html.EscapeString(host) + ".</small></p></body></html>\n"
	var b strings.Builder
	b.WriteString("HTTP/1.1 451 Unavailable For Legal Reasons\r\n")
	if notice != "" {
		b.WriteString("Link: <" + notice + ">; rel=\"blocked-by\"\r\n")
	}
	b.WriteString(RuleHeader + ": " + rule + "\r\n")
	b.WriteString("Content-Type: text/html; charset=utf-8\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	b.WriteString("Cache-Control: no-store\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// ParseBlockedBy extracts the blocked-by URL from a Link header value
// (RFC 7725): `<https://notices.example/weir>; rel="blocked-by"`.
func ParseBlockedBy(link string) (notice string, ok bool) {
	for _, part := range strings.Split(link, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "<") {
			continue
		}
		end := strings.IndexByte(part, '>')
		if end < 0 {
			continue
		}
		params := strings.ToLower(part[end+1:])
		if strings.Contains(params, `rel="blocked-by"`) || strings.Contains(params, "rel=blocked-by") {
			return part[1:end], true
		}
	}
	return "", false
}

// clean keeps marker texts to one bounded line of printable ASCII.
func clean(s string) string {
	if len(s) > maxText {
		s = s[:maxText]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e || c == ';' {
			b[i] = '_'
		}
	}
	return string(b)
}

func parseKV(s, prefix string) (rule, notice string, ok bool) {
	if !strings.HasPrefix(s, prefix+";") {
		return "", "", false
	}
	for _, f := range strings.Split(s[len(prefix)+1:], ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "rule":
			rule = v
		case "notice":
			notice = v
		}
	}
	return rule, notice, true
}

// ThrottleDSCP is the DSCP Weir sets on every packet of a throttled
// connection, both directions: LE, Lower Effort (RFC 8622). A probe that
// sees its downloads slowed and marked LE knows who slowed them.
const ThrottleDSCP = 1
