package mail

import (
	"bytes"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/intern"
	"github.com/weirnet/weir/internal/dissect/tls"
)

// kind is the mail protocol a flow is converging on.
type kind uint8

const (
	none kind = iota
	smtp
	imap
	pop3
)

// maxLine bounds the line we look at; RFC 5321 lines are <= 1000 bytes,
// IMAP/POP3 greetings and commands are far shorter.
const maxLine = 1024

// Dissector recognises SMTP, IMAP and POP3 (one type: their greetings and
// commands decide which, and they share the STARTTLS upgrade logic). It
// looks at the first line of each payload only; mail commands and replies
// are line-sized and start packets in practice.
type Dissector struct {
	kind       kind
	greeting   bool // a server greeting of kind was seen
	named      bool // the greeting names the protocol ("ESMTP", "IMAP4", "POP")
	command    bool // a client command of kind was seen
	starttls   bool // client asked for STARTTLS/STLS
	ready      bool // server accepted it
	upgraded   bool // TLS records follow: feeding tls
	identified bool
	notMine    bool
	done       bool
	pkts       int
	cmds       int // client commands of kind seen
	host       [253]byte
	hostLen    int
	tag        [16]byte // IMAP tag of the STARTTLS command
	tagLen     int
	tls        tls.Dissector
}

// Reset returns d to its zero state.
func (d *Dissector) Reset() { *d = Dissector{} }

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	switch {
	case d.notMine:
		return dissect.NotMine
	case d.done:
		return dissect.Done
	case p.L4 != 6 || len(p.Payload) == 0:
		return d.status()
	}
	d.pkts++
	if d.upgraded {
		return d.feedTLS(p, m)
	}
	b := p.Payload
	if d.ready && len(b) >= 3 && b[0] == 0x16 && b[1] == 3 {
		d.upgraded = true
		d.identified = true
		if m.Host == "" && d.hostLen > 0 {
			m.Host = intern.Bytes(d.host[:d.hostLen])
		}
		m.Proto = d.secure()
		m.Why = intern.Concat(d.name(), " STARTTLS")
		return d.feedTLS(p, m)
	}
	line := firstLine(b)
	if line == nil {
		if d.identified {
			return d.status() // message body, binary attachment, ...
		}
		return d.reject()
	}
	if p.Dir == dissect.ToClient {
		d.server(line, m)
	} else {
		d.client(line)
	}
	if d.notMine {
		return dissect.NotMine
	}
	if !d.identified && d.evidence() {
		d.identified = true
		m.Proto = d.plain()
		if d.hostLen > 0 {
			m.Host = intern.Bytes(d.host[:d.hostLen])
		}
		switch {
		case !d.command:
			m.Why = intern.Concat(d.name(), " greeting")
		case !d.greeting:
			m.Why = intern.Concat(d.name(), " command")
		default:
			m.Why = intern.Concat(d.name(), " greeting and command")
		}
	}
	if !d.identified && d.pkts >= 6 {
		return d.reject()
	}
	return d.status()
}

// evidence: a greeting that names the protocol, or a greeting and a
// command that agree, or (server side unseen) two commands of the kind.
func (d *Dissector) evidence() bool {
	return d.kind != none && (d.greeting && (d.named || d.command) || d.command && d.pkts >= 2 && !d.greeting && d.cmds >= 2)
}

func (d *Dissector) status() dissect.Status {
	switch {
	case d.notMine:
		return dissect.NotMine
	case d.done:
		return dissect.Done
	case d.identified:
		return dissect.Identified
	}
	return dissect.Continue
}

func (d *Dissector) reject() dissect.Status {
	if d.identified {
		return d.status()
	}
	d.notMine = true
	return dissect.NotMine
}

// setKind records the protocol a line points to; a contradiction (an SMTP
// greeting then an IMAP command) means none of them.
func (d *Dissector) setKind(k kind) bool {
	if d.kind == none {
		d.kind = k
	}
	if d.kind != k {
		if !d.identified {
			d.notMine = true
		}
		return false
	}
	return true
}

func (d *Dissector) server(line []byte, m *dissect.Meta) {
	switch {
	case !d.greeting && !d.command && d.kind == none:
		// The first server line must be a greeting.
		switch {
		case hasPrefix(line, "220 ") || hasPrefix(line, "220-"):
			if d.setKind(smtp) {
				d.greeting = true
				d.named = containsFold(line, "SMTP")
				d.hostLen = copy(d.host[:], greetingHost(line[4:]))
				for i, c := range d.host[:d.hostLen] {
					if c >= 'A' && c <= 'Z' {
						d.host[i] = c + 'a' - 'A'
					}
				}
			}
		case hasPrefix(line, "* OK") || hasPrefix(line, "* PREAUTH"):
			if d.setKind(imap) {
				d.greeting = true
				d.named = containsFold(line, "IMAP")
			}
		case hasPrefix(line, "+OK"):
			if d.setKind(pop3) {
				d.greeting = true
				d.named = containsFold(line, "POP")
			}
		default:
			if !d.identified {
				d.notMine = true
			}
		}
	case d.starttls && !d.ready:
		switch d.kind {
		case smtp:
			d.ready = hasPrefix(line, "220")
		case pop3:
			d.ready = hasPrefix(line, "+OK")
		case imap:
			d.ready = d.tagLen > 0 && bytes.HasPrefix(line, d.tag[:d.tagLen]) &&
				hasPrefix(line[min(d.tagLen, len(line)):], " OK")
		}
		if !d.ready && !hasPrefix(line, "*") {
			d.starttls = false // refused: plain session continues
		}
	case !d.greeting && d.kind == none:
		if !d.identified {
			d.notMine = true
		}
	}
	if d.kind == smtp && d.greeting && !hasPrefix(line, "220") {
		// Later replies must look like replies: 3 digits then SP or '-'.
		if len(line) < 4 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) || (line[3] != ' ' && line[3] != '-') {
			if !d.identified {
				d.notMine = true
			}
		}
	}
}

func (d *Dissector) client(line []byte) {
	before := d.cmds
	d.clientLine(line)
	if d.cmds == before && d.kind == none && !d.identified {
		d.notMine = true // the client spoke first, and not a mail command
	}
}

func (d *Dissector) clientLine(line []byte) {
	verb, rest := word(line)
	switch {
	case eqFold(verb, "EHLO") || eqFold(verb, "HELO"):
		if len(rest) > 0 && d.setKind(smtp) {
			d.command = true
			d.cmds++
		}
	case eqFold(verb, "STARTTLS") && len(rest) == 0 && (d.kind == smtp || d.kind == none):
		if d.setKind(smtp) {
			d.starttls, d.command = true, true
			d.cmds++
		}
	case eqFold(verb, "MAIL") || eqFold(verb, "RCPT") || eqFold(verb, "DATA") || eqFold(verb, "QUIT") && d.kind == smtp:
		if d.kind == smtp {
			d.cmds++
		}
	case isPOPVerb(verb) && (d.kind == pop3 || d.kind == none):
		if d.setKind(pop3) {
			d.command = true
			d.cmds++
			if eqFold(verb, "STLS") {
				d.starttls = true
			}
		}
	case isIMAPTag(verb) && (d.kind == imap || d.kind == none):
		cmd, _ := word(rest)
		if !isIMAPCommand(cmd) {
			break
		}
		if d.setKind(imap) {
			d.command = true
			d.cmds++
			if eqFold(cmd, "STARTTLS") {
				d.starttls = true
				d.tagLen = copy(d.tag[:], verb)
			}
		}
	}
}

// feedTLS hands the upgraded stream to the TLS dissector, keeping the
// mail protocol's name: SNI (if any) replaces the greeting's host.
func (d *Dissector) feedTLS(p *dissect.Packet, m *dissect.Meta) dissect.Status {
	host, why := m.Host, m.Why
	m.Host = ""
	st := d.tls.Feed(p, m)
	if m.Host == "" {
		m.Host = host
	}
	m.Proto = d.secure()
	m.Why = why
	if st == dissect.Done || st == dissect.NotMine || d.pkts >= 24 {
		d.done = true
		return dissect.Done
	}
	return dissect.Identified
}

func (d *Dissector) name() string {
	return [...]string{none: "mail", smtp: "SMTP", imap: "IMAP", pop3: "POP3"}[d.kind]
}

func (d *Dissector) plain() dissect.Proto {
	return [...]dissect.Proto{dissect.Unknown, dissect.SMTP, dissect.IMAP, dissect.POP3}[d.kind]
}

func (d *Dissector) secure() dissect.Proto {
	return [...]dissect.Proto{dissect.Unknown, dissect.SMTPS, dissect.IMAPS, dissect.POP3S}[d.kind]
}
