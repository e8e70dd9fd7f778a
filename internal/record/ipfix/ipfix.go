package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/weirnet/weir/internal/flow"
	"github.com/weirnet/weir/internal/record"
	"github.com/weirnet/weir/internal/record/anon"
)

// Config configures an Exporter. Zero fields take the defaults noted.
type Config struct {
	Addr              string // collector "host:port"; required
	Transport         string // "udp" (default) or "tcp"
	ObservationDomain uint32
	// TemplateRefresh re-sends templates over UDP at least this often
	// (default 30 s); TemplateRefreshMessages at least every this many
	// messages (default 100).
	TemplateRefresh         time.Duration
	TemplateRefreshMessages int
	// MTU bounds an IPFIX message in bytes (default 1400; 256..65507).
	MTU int
	// FlushInterval bounds how long a record waits in a partly filled
	// message (default 1 s).
	FlushInterval time.Duration
	// QueueLen is the number of message buffers (default 64).
	QueueLen int
	// Anon rewrites client addresses; nil exports them unchanged.
	Anon anon.Anonymizer
	// Logf reports collector problems, at most once a second.
	Logf func(format string, args ...any)
}

// Stats counts the exporter's work since New.
type Stats struct {
	Records    uint64 // data records put into messages
	Messages   uint64 // messages written to the socket
	Templates  uint64 // template sets sent
	Dropped    uint64 // data records lost: no buffer, queue full, or send failed
	SendErrors uint64
}

var (
	errClosed    = errors.New("ipfix: exporter closed")
	errConfig    = errors.New("ipfix: bad configuration")
	errTransport = errors.New("ipfix: transport must be udp or tcp")
)

// msg is one IPFIX message being built or queued.
type msg struct {
	b       []byte
	records uint32
}

// Exporter is an IPFIX exporting process; it implements record.Sink.
type Exporter struct {
	cfg    Config
	tcp    bool
	strMax int // per-string byte cap so any record fits one message
	now    func() time.Time

	mu            sync.Mutex
	cur           *msg
	setOff        int    // offset of the open data set's header in cur.b
	setID         uint16 // its template; 0 when no set is open
	seq           uint32
	lastTmpl      time.Time
	msgsSinceTmpl int
	tmplSent      bool
	shut          bool

	free chan *msg
	out  chan *msg
	done chan struct{}

	// Sender-goroutine state.
	conn     net.Conn
	nextDial time.Time
	tmplMsg  []byte
	lastLog  time.Time
	muted    int

	records, messages, templates, dropped, sendErrors atomic.Uint64
}

var _ record.Sink = (*Exporter)(nil)

// New validates cfg, opens the socket (UDP) and starts the sender.
func New(cfg Config) (*Exporter, error) {
	e, err := newExporter(cfg)
	if err != nil {
		return nil, err
	}
	if e.tcp {
		if _, err := net.ResolveTCPAddr("tcp", e.cfg.Addr); err != nil {
			return nil, fmt.Errorf("ipfix: %w", err)
		}
	} else {
		c, err := net.Dial("udp", e.cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("ipfix: %w", err)
		}
		e.conn = c
	}
	go e.run()
	return e, nil
}

// newExporter validates cfg and builds the encoder side without a socket
// or sender goroutine (tests drive it directly).
func newExporter(cfg Config) (*Exporter, error) {
	if cfg.Addr == "" {
		return nil, fmt.Errorf("%w: collector address required", errConfig)
	}
	switch cfg.Transport {
	case "", "udp":
		cfg.Transport = "udp"
	case "tcp":
	default:
		return nil, fmt.Errorf("%w: %q", errTransport, cfg.Transport)
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1400
	}
	if cfg.MTU < minMTU || cfg.MTU > 65507 {
		return nil, fmt.Errorf("%w: MTU %d outside %d..65507", errConfig, cfg.MTU, minMTU)
	}
	if cfg.TemplateRefresh <= 0 {
		cfg.TemplateRefresh = 30 * time.Second
	}
	if cfg.TemplateRefreshMessages <= 0 {
		cfg.TemplateRefreshMessages = 100
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 64
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	e := &Exporter{
		cfg:     cfg,
		tcp:     cfg.Transport == "tcp",
		strMax:  stringCap(cfg.MTU),
		now:     time.Now,
		free:    make(chan *msg, cfg.QueueLen),
		out:     make(chan *msg, cfg.QueueLen),
		done:    make(chan struct{}),
		tmplMsg: make([]byte, 0, msgHeaderLen+templateSetLen),
	}
	for range cfg.QueueLen {
		e.free <- &msg{b: make([]byte, 0, cfg.MTU)}
	}
	return e, nil
}

// Stats returns the counters.
func (e *Exporter) Stats() Stats {
	return Stats{
		Records: e.records.Load(), Messages: e.messages.Load(), Templates: e.templates.Load(),
		Dropped: e.dropped.Load(), SendErrors: e.sendErrors.Load(),
	}
}

// Write adds r's two directions to the current message.
func (e *Exporter) Write(r *record.Record) error {
	var f flowRec
	f.fill(r, e.cfg.Anon)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shut {
		return errClosed
	}
	e.add(&f, dirC2S)
	if r.S2CPackets > 0 {
		e.add(&f, dirS2C)
	}
	return nil
}

// add encodes one direction of f; e.mu is held.
func (e *Exporter) add(f *flowRec, dir uint8) {
	size := f.encodedLen(e.strMax)
	tid := f.templateID()
	if e.cur != nil && len(e.cur.b)+size+e.setHeaderNeed(tid) > e.cfg.MTU {
		e.enqueue(e.finish())
	}
	if e.cur == nil && !e.start() {
		e.dropped.Add(1)
		return
	}
	if e.setID != tid {
		e.closeSet()
		e.setOff, e.setID = len(e.cur.b), tid
		e.cur.b = append(e.cur.b, byte(tid>>8), byte(tid), 0, 0)
	}
	e.cur.b = f.appendTo(e.cur.b, dir, e.strMax)
	e.cur.records++
	e.records.Add(1)
}

func (e *Exporter) setHeaderNeed(tid uint16) int {
	if e.setID == tid {
		return 0
	}
	return setHeaderLen
}

// start takes a free buffer and writes the header space and, when due over
// UDP, the template set.
func (e *Exporter) start() bool {
	select {
	case m := <-e.free:
		e.cur = m
	default:
		return false
	}
	e.cur.b = e.cur.b[:msgHeaderLen]
	e.cur.records = 0
	e.setID = 0
	if !e.tcp {
		now := e.now()
		if !e.tmplSent || now.Sub(e.lastTmpl) >= e.cfg.TemplateRefresh ||
			e.msgsSinceTmpl >= e.cfg.TemplateRefreshMessages {
			e.cur.b = appendTemplateSet(e.cur.b)
			e.tmplSent, e.lastTmpl, e.msgsSinceTmpl = true, now, 0
			e.templates.Add(1)
		}
		e.msgsSinceTmpl++
	}
	return true
}

func (e *Exporter) closeSet() {
	if e.setID != 0 {
		binary.BigEndian.PutUint16(e.cur.b[e.setOff+2:], uint16(len(e.cur.b)-e.setOff))
		e.setID = 0
	}
}

// finish completes the header of the current message and detaches it.
func (e *Exporter) finish() *msg {
	m := e.cur
	e.closeSet()
	putHeader(m.b, e.now(), e.seq, e.cfg.ObservationDomain)
	e.seq += m.records
	e.cur = nil
	return m
}

// enqueue hands m to the sender without blocking.
func (e *Exporter) enqueue(m *msg) {
	select {
	case e.out <- m:
	default:
		e.dropped.Add(uint64(m.records))
		e.free <- m // cannot block: the pool holds QueueLen buffers
	}
}

// Close flushes the current message, waits for the sender to write what is
// queued, and closes the socket.
func (e *Exporter) Close() error {
	e.mu.Lock()
	if e.shut {
		e.mu.Unlock()
		return nil
	}
	e.shut = true
	var last *msg
	if e.cur != nil {
		last = e.finish()
	}
	e.mu.Unlock()
	if last != nil {
		e.out <- last // may wait for the sender; nothing else sends now
	}
	close(e.out)
	<-e.done
	return nil
}

func (e *Exporter) run() {
	defer close(e.done)
	t := time.NewTicker(e.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case m, ok := <-e.out:
			if !ok {
				if e.conn != nil {
					e.conn.Close()
				}
				return
			}
			e.send(m)
			e.free <- m
		case <-t.C:
			e.mu.Lock()
			if !e.shut && e.cur != nil && e.cur.records > 0 {
				e.enqueue(e.finish())
			}
			e.mu.Unlock()
		}
	}
}

const writeTimeout = 5 * time.Second

func (e *Exporter) send(m *msg) {
	if e.tcp && !e.connectTCP(m) {
		e.dropped.Add(uint64(m.records))
		return
	}
	if e.tcp {
		e.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	}
	if _, err := e.conn.Write(m.b); err != nil {
		e.sendErrors.Add(1)
		e.dropped.Add(uint64(m.records))
		e.logf("ipfix: send to %s: %v", e.cfg.Addr, err)
		if e.tcp {
			e.conn.Close()
			e.conn = nil
		}
		return
	}
	e.messages.Add(1)
}

// connectTCP dials if needed (at most once a second) and sends the
// templates first on a new connection, with the sequence number of the
// message m that follows them.
func (e *Exporter) connectTCP(m *msg) bool {
	if e.conn != nil {
		return true
	}
	now := time.Now()
	if now.Before(e.nextDial) {
		return false
	}
	e.nextDial = now.Add(time.Second)
	c, err := net.DialTimeout("tcp", e.cfg.Addr, writeTimeout)
	if err != nil {
		e.sendErrors.Add(1)
		e.logf("ipfix: connect %s: %v", e.cfg.Addr, err)
		return false
	}
	b := appendTemplateSet(e.tmplMsg[:msgHeaderLen])
	putHeader(b, e.now(), binary.BigEndian.Uint32(m.b[8:12]), e.cfg.ObservationDomain)
	c.SetWriteDeadline(now.Add(writeTimeout))
	if _, err := c.Write(b); err != nil {
		c.Close()
		e.sendErrors.Add(1)
		e.logf("ipfix: send templates to %s: %v", e.cfg.Addr, err)
		return false
	}
	e.templates.Add(1)
	e.messages.Add(1)
	e.conn = c
	return true
}

// logf rate-limits collector complaints to one a second.
func (e *Exporter) logf(format string, args ...any) {
	now := time.Now()
	if now.Sub(e.lastLog) < time.Second {
		e.muted++
		return
	}
	if e.muted > 0 {
		e.cfg.Logf("ipfix: %d similar messages suppressed", e.muted)
		e.muted = 0
	}
	e.lastLog = now
	e.cfg.Logf(format, args...)
}

func putHeader(b []byte, now time.Time, seq, domain uint32) {
	binary.BigEndian.PutUint16(b[0:], 10)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint32(b[4:], uint32(now.Unix()))
	binary.BigEndian.PutUint32(b[8:], seq)
	binary.BigEndian.PutUint32(b[12:], domain)
}

// flowRec is a record's exported fields, computed once for both directions.
type flowRec struct {
	v6                bool
	client, server    [16]byte
	cport, sport      uint16
	proto             uint8
	c2sBytes, c2sPkts uint64
	s2cBytes, s2cPkts uint64
	startMs, endMs    uint64
	endReason         uint8
	fwd               uint8
	vlan              uint16
	appSel            uint16
	appName, host     string
	rule, protoName   string
	category          string
}

func (f *flowRec) fill(r *record.Record, an anon.Anonymizer) {
	c, s := r.Client.Addr(), r.Server.Addr()
	if an != nil {
		c = an.Addr(c)
	}
	f.v6 = !(c.Is4() && s.Is4())
	f.client, f.server = c.As16(), s.As16()
	if !c.IsValid() {
		f.client = [16]byte{}
	}
	if !s.IsValid() {
		f.server = [16]byte{}
	}
	if !f.v6 {
		// As16 of an IPv4 address is the mapped form; the IPv4
		// template wants the last four bytes.
		copy(f.client[:4], f.client[12:])
		copy(f.server[:4], f.server[12:])
	}
	f.cport, f.sport, f.proto = r.Client.Port(), r.Server.Port(), r.L4
	f.c2sBytes, f.c2sPkts = r.C2SBytes, r.C2SPackets
	f.s2cBytes, f.s2cPkts = r.S2CBytes, r.S2CPackets
	f.startMs, f.endMs = nsToMs(r.First), nsToMs(r.Last)
	f.endReason = EndReason(r.End)
	f.fwd = ForwardingStatus(r.Verdict)
	f.vlan = r.VLAN
	f.rule = r.Rule
	f.appSel, f.appName, f.host, f.protoName, f.category = 0, "", "", "", ""
	if cl := r.Class; cl != nil {
		f.appSel = uint16(cl.Meta.Proto)
		f.protoName = cl.Meta.Proto.String()
		f.appName = cl.App
		if f.appName == "" {
			f.appName = f.protoName
		}
		f.host, f.category = cl.Host, cl.Category
	}
}

func nsToMs(ns int64) uint64 {
	if ns < 0 {
		return 0
	}
	return uint64(ns / 1e6)
}

func (f *flowRec) templateID() uint16 {
	if f.v6 {
		return TemplateIPv6
	}
	return TemplateIPv4
}

func (f *flowRec) encodedLen(strMax int) int {
	n := fixedLenV4
	if f.v6 {
		n = fixedLenV6
	}
	for _, s := range [...]string{f.appName, f.host, f.rule, f.protoName, f.category} {
		n += 1 + min(len(s), strMax)
	}
	return n
}

// appendTo writes one data record in template field order (see fields).
func (f *flowRec) appendTo(b []byte, dir uint8, strMax int) []byte {
	src, dst := f.client, f.server
	sp, dp := f.cport, f.sport
	bytes, pkts := f.c2sBytes, f.c2sPkts
	if dir == dirS2C {
		src, dst, sp, dp = dst, src, dp, sp
		bytes, pkts = f.s2cBytes, f.s2cPkts
	}
	alen := 4
	if f.v6 {
		alen = 16
	}
	b = append(b, src[:alen]...)
	b = append(b, dst[:alen]...)
	b = binary.BigEndian.AppendUint16(b, sp)
	b = binary.BigEndian.AppendUint16(b, dp)
	b = append(b, f.proto)
	b = binary.BigEndian.AppendUint64(b, bytes)
	b = binary.BigEndian.AppendUint64(b, pkts)
	b = binary.BigEndian.AppendUint64(b, f.startMs)
	b = binary.BigEndian.AppendUint64(b, f.endMs)
	b = append(b, f.endReason, f.fwd)
	b = binary.BigEndian.AppendUint16(b, f.vlan)
	b = append(b, AppEngineID)
	b = binary.BigEndian.AppendUint32(b, PEN)
	b = binary.BigEndian.AppendUint16(b, f.appSel)
	b = appendString(b, f.appName, strMax)
	b = appendString(b, f.host, strMax)
	b = appendString(b, f.rule, strMax)
	b = appendString(b, f.protoName, strMax)
	b = appendString(b, f.category, strMax)
	return append(b, dir)
}

// appendString writes s as a variable-length field (RFC 7011 §7) with a
// one-byte length: at most strMax (< 255) bytes, cut at a UTF-8 boundary,
// invalid bytes replaced by '?' so the field stays valid UTF-8 and the
// length stays true.
func appendString(b []byte, s string, strMax int) []byte {
	n := len(s)
	if n > strMax {
		n = strMax
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
	}
	s = s[:n]
	b = append(b, byte(n))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = append(b, '?')
		} else {
			b = append(b, s[i:i+w]...)
		}
		i += w
	}
	return b
}

// EndReason maps a flow end to flowEndReason (IE 136, RFC 5102 values):
// idle timeout 1, active timeout 2, forced end 4 (end of input, a jump
// back in packet time), lack of
// resources 5 (evicted at the flow cap).
func EndReason(r flow.EndReason) uint8 {
	switch r {
	case flow.EndIdle:
		return 1
	case flow.EndActive:
		return 2
	case flow.EndFlush, flow.EndTimeJump:
		return 4
	case flow.EndEvicted:
		return 5
	}
	return 4
}

// forwardingStatus values (RFC 7270 §4.12, IANA "forwardingStatus"): the
// two high bits are the status, the low six the reason.
const (
	FwdUnknown   uint8 = 0   // status Unknown: no policy decided the flow
	FwdForwarded uint8 = 64  // Forwarded: Unknown reason
	FwdACLDeny   uint8 = 129 // Dropped: ACL deny
	FwdACLDrop   uint8 = 130 // Dropped: ACL drop
)

// ForwardingStatus maps a policy verdict to forwardingStatus (IE 89):
// allow and throttle are forwarded (64); block and reset, which announce
// the denial to the client, are "Dropped: ACL deny" (129); drop, which is
// silent, is "Dropped: ACL drop" (130); no verdict is Unknown (0).
func ForwardingStatus(verdict string) uint8 {
	switch verdict {
	case "":
		return FwdUnknown
	case "allow", "throttle":
		return FwdForwarded
	case "block", "reset":
		return FwdACLDeny
	case "drop":
		return FwdACLDrop
	}
	return FwdUnknown
}
