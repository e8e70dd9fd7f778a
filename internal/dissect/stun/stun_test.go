package stun

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/weirnet/weir/internal/dissect"
	"github.com/weirnet/weir/internal/dissect/dissecttest"
)

type attr struct {
	typ uint16
	val []byte
}

// build makes a STUN message; with fp it appends a correct FINGERPRINT.
func build(typ uint16, cookie bool, tx string, fp bool, attrs ...attr) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = append(b, 0, 0)
	if cookie {
		b = binary.BigEndian.AppendUint32(b, magicCookie)
		b = append(b, tx[:12]...)
	} else {
		b = append(b, tx[:16]...)
	}
	for _, a := range attrs {
		b = binary.BigEndian.AppendUint16(b, a.typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.val)))
		b = append(b, a.val...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	if fp {
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)-headerLen+8))
		crc := crc32.ChecksumIEEE(b) ^ fpXOR
		b = binary.BigEndian.AppendUint16(b, attrFingerprint)
		b = binary.BigEndian.AppendUint16(b, 4)
		b = binary.BigEndian.AppendUint32(b, crc)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-headerLen))
	return b
}

const tx = "0123456789abcdefXXXX"

func framed(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

type step = dissecttest.Step

func TestDissector(t *testing.T) {
	bindReq := build(0x0001, true, tx, true, attr{0x0006, []byte("abc:def")}, attr{0xc057, []byte{0, 3, 0, 10}})
	bindResp := build(0x0101, true, tx, false, attr{0x0020, []byte{0, 1, 0x9e, 0xb0, 0xcf, 0x1e, 0x40, 0x02}})
	badFP := append([]byte{}, bindReq...)
	badFP[len(badFP)-1] ^= 1
	tests := []struct {
		name  string
		l4    uint8
		steps []step
		want  dissect.Status
		why   string
		app   string
	}{
		{"binding request", 17, []step{{0, bindReq}}, dissect.Identified, "STUN message with magic cookie", ""},
		{"bare binding request", 17, []step{{0, build(0x0001, true, tx, false)}}, dissect.Identified, "STUN message with magic cookie", ""},
		{"bad fingerprint", 17, []step{{0, badFP}}, dissect.NotMine, "", ""},
		{"length mismatch", 17, []step{{0, append(append([]byte{}, bindResp...), 0, 0, 0, 0)}}, dissect.NotMine, "", ""},
		{"attribute overruns", 17, []step{{0, func() []byte {
			b := build(0x0001, true, tx, false, attr{0x0006, []byte("abcd")})
			b[23] = 40
			return b
		}()}}, dissect.NotMine, "", ""},
		{"unknown method", 17, []step{{0, build(0x0fff, true, tx, false)}}, dissect.NotMine, "", ""},
		{"teams", 17, []step{{0, build(0x0001, true, tx, true, attr{0x8070, []byte{0, 0, 0, 3}})}}, dissect.Done, "STUN MS-IMPLEMENTATION-VERSION attribute", "teams"},
		{"whatsapp attr", 17, []step{{0, build(0x0003, true, tx, false, attr{0x4000, []byte("xyzw")})}}, dissect.Done, "STUN WhatsApp attribute 0x40xx", "whatsapp"},
		{"whatsapp type", 17, []step{{0, build(0x0800, true, tx, false)}}, dissect.Done, "STUN message type 0x08xx (WhatsApp)", "whatsapp"},
		{"facebook realm", 17, []step{{0, bindReq}, {1, build(0x0113, true, tx, false, attr{0x0009, []byte{0, 0, 4, 1}}, attr{attrRealm, []byte("turner.facebook")})}}, dissect.Done, "STUN REALM names Facebook", "facebook-messenger"},
		{"google realm", 17, []step{{1, build(0x0113, true, tx, false, attr{attrRealm, []byte("turn.l.google.com")})}}, dissect.Done, "STUN REALM names Google TURN", "googlemeet"},
		{"software", 17, []step{{1, build(0x0101, true, tx, false, attr{attrSoftware, []byte("Telegram-Reflector 1.0")})}}, dissect.Done, "STUN SOFTWARE names Telegram", "telegram"},
		{"classic with change-request", 17, []step{{0, build(0x0001, false, tx, false, attr{0x0003, []byte{0, 0, 0, 0}})}}, dissect.Identified, "classic STUN message with RFC 3489 attributes", ""},
		{"classic unknown attr needs answer", 17, []step{
			{0, build(0x0001, false, tx, false, attr{0x0101, []byte("12345678901234567890")})},
			{1, build(0x0002, false, tx, false, attr{0x0103, []byte{0, 1, 0xff, 0x75, 0x50, 0xb4, 0xdc, 0xef}})},
		}, dissect.Identified, "classic STUN transaction answered", ""},
		{"classic unknown attr alone", 17, []step{{0, build(0x0001, false, tx, false, attr{0x0101, []byte("12345678901234567890")})}}, dissect.Continue, "", ""},
		{"tcp several per segment", 6, []step{{0, append(append(build(0x0003, true, tx, false, attr{0x0019, []byte{17, 0, 0, 0}}), build(0x0003, true, tx, false, attr{0x0019, []byte{17, 0, 0, 0}})...), build(0x0003, true, tx, false)[:10]...)}}, dissect.Identified, "STUN message with magic cookie", ""},
		{"tcp rfc4571 framing", 6, []step{{0, framed(build(0x0001, true, tx, false, attr{0x8054, []byte{'2', 0, 0, 0}}))}}, dissect.Identified, "STUN message with magic cookie", ""},
		{"tcp split message", 6, []step{{0, build(0x0001, true, tx, false, attr{0x0006, []byte("a-rather-long-username-here")})[:30]}}, dissect.Identified, "STUN message with magic cookie", ""},
		{"dtls first", 17, []step{{0, []byte("\x16\xfe\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x01\x00\x00\x80")}}, dissect.NotMine, "", ""},
		{"rtp first", 17, []step{{0, []byte("\x80\x12\xae\x16\x04\xe9\xfa\x38\x3a\xa6\xd9\x22\xc4\x53\x20\x97\xca\x1b\xd2\x97\xab\x78")}}, dissect.NotMine, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := dissecttest.Run(&Dissector{}, tc.l4, tc.steps)
			if st != tc.want {
				t.Fatalf("status = %v, want %v (why %q)", st, tc.want, m.Why)
			}
			if tc.why != "" && (m.Proto != dissect.STUN || m.Why != tc.why || m.AppHint != tc.app) {
				t.Fatalf("meta = (%v, %q, %q), want (STUN, %q, %q)", m.Proto, m.Why, m.AppHint, tc.why, tc.app)
			}
		})
	}
}

func TestRejectNoAllocs(t *testing.T) {
	var d Dissector
	var m dissect.Meta
	dissecttest.NoAllocsReject(t, &d, dissect.Packet{L4: 17, Payload: []byte("\x80\x12\xae\x16\x04\xe9\xfa\x38\x3a\xa6\xd9\x22\xc4\x53\x20\x97\xca\x1b\xd2\x97\xab\x78")})
	req := dissect.Packet{L4: 17, Payload: build(0x0001, true, tx, true, attr{0x8070, []byte{0, 0, 0, 3}}, attr{attrSoftware, []byte("WhatsApp")})}
	dissecttest.NoAllocs(t, "accept path", func() { d.Reset(); d.Feed(&req, &m) })
}

// TestRandomPayloads: random bytes must practically never be claimed.
func TestRandomPayloads(t *testing.T) {
	dissecttest.RandomPayloads(t, func() dissect.Dissector { return &Dissector{} }, 0, nil, 100000, 0.001)
}

func FuzzFeed(f *testing.F) {
	f.Add(uint8(17), build(0x0001, true, tx, true, attr{0x0006, []byte("abc:def")}), build(0x0101, true, tx, false))
	f.Add(uint8(6), framed(build(0x0001, true, tx, false, attr{0x8008, []byte{0, 0, 0, 6}})), []byte{0x40, 0, 0, 4, 1, 2, 3, 4})
	f.Add(uint8(17), build(0x0001, false, tx, false, attr{0x0101, []byte("1234")}), build(0x0002, false, tx, false))
	f.Fuzz(func(t *testing.T, l4 uint8, a, b []byte) {
		var d Dissector
		var m dissect.Meta
		d.Feed(&dissect.Packet{L4: l4, Payload: a}, &m)
		d.Feed(&dissect.Packet{Dir: 1, L4: l4, Payload: b}, &m)
		Parse(a, true)
		Parse(b, false)
	})
}

// Last run (2 vCPU): 190.4 ns/op 0 B/op 0 allocs/op
func BenchmarkFeed(b *testing.B) {
	p := dissect.Packet{L4: 17, Payload: build(0x0001, true, tx, true, attr{0x0006, []byte("abc:def")}, attr{0x8070, []byte{0, 0, 0, 3}})}
	var d Dissector
	var m dissect.Meta
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		d.Feed(&p, &m)
	}
}

func ExampleParse() {
	msg := []byte{
		0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, // Binding request, 8 bytes of attributes
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', // transaction id
		0x80, 0x70, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, // MS-IMPLEMENTATION-VERSION
	}
	m, size, ok := Parse(msg, false)
	fmt.Println(ok, size, m.Classic, m.App)
	// Output: true 28 false teams
}

func TestCorpus(t *testing.T) {
	files := []string{"stun.pcap", "stun_classic.pcap", "stun_signal.pcapng", "stun_google_meet.pcapng", "stun_zoom.pcapng",
		"stun_dtls_rtp.pcapng", "telegram_videocall.pcapng", "whatsapp_voice_and_message.pcap", "stun_wa_call.pcapng",
		"teams.pcap", "stun_tcp_multiple_msgs_same_pkt.pcap", "zoom.pcap"}
	hintFor := map[string]string{"WhatsAppCall": "whatsapp", "Skype_TeamsCall": "teams"}
	var totWant, totGot int
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			var want, got, hintWant, hintGot int
			for _, f := range dissecttest.Load(t, name).Flows {
				lab := f.Label()
				st, m := dissecttest.Feed(&Dissector{}, f)
				ok := (st == dissect.Identified || st == dissect.Done) && m.Proto == dissect.STUN
				if !f.NDPI.HasLabel("STUN") {
					if ok {
						t.Logf("also STUN: %s [%s] %q", f, lab, m.Why)
					}
					continue
				}
				want++
				if ok {
					got++
				} else {
					t.Logf("missed %s [%s]", f, lab)
				}
				for sub, app := range hintFor {
					if f.NDPI.HasLabel(sub) {
						hintWant++
						if m.AppHint == app {
							hintGot++
						} else {
							t.Logf("hint %q, want %q on %s", m.AppHint, app, f)
						}
					}
				}
			}
			t.Logf("%s: identified %d/%d nDPI STUN flows; app hint %d/%d", name, got, want, hintGot, hintWant)
			totWant += want
			totGot += got
			if got*10 < want*9 {
				t.Errorf("rate %d/%d below 90%%", got, want)
			}
			if hintGot*10 < hintWant*9 {
				t.Errorf("hint rate %d/%d below 90%%", hintGot, hintWant)
			}
		})
	}
	t.Logf("total: %d/%d", totGot, totWant)
}
