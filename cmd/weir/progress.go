package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress draws a one-line progress bar on stderr for long inputs.
type progress struct {
	w       io.Writer
	on      bool
	name    string
	src     interface{ Progress() (int64, int64) }
	n       uint64
	last    time.Time
	started time.Time
}

func newProgress(w io.Writer, mode string) *progress {
	p := &progress{w: w}
	switch mode {
	case "always":
		p.on = true
	case "auto":
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				p.on = true
			}
		}
	}
	return p
}

func (p *progress) start(name string, src any) {
	p.name = name
	p.src, _ = src.(interface{ Progress() (int64, int64) })
	p.started = time.Now()
	p.last = p.started
}

func (p *progress) tick() {
	p.n++
	if !p.on || p.n&0xffff != 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.draw(false)
}

func (p *progress) draw(final bool) {
	done, total := int64(0), int64(-1)
	if p.src != nil {
		done, total = p.src.Progress()
	}
	const width = 30
	bar := ""
	if total > 0 {
		k := int(float64(width) * float64(done) / float64(total))
		k = min(max(k, 0), width)
		for i := range width {
			if i < k {
				bar += "="
			} else {
				bar += " "
			}
		}
		bar = fmt.Sprintf("[%s] %3.0f%% ", bar, 100*float64(done)/float64(total))
	}
	fmt.Fprintf(p.w, "\r%s%s %d packets %.1f MB %.1fs", bar, p.name, p.n, float64(done)/1e6, time.Since(p.started).Seconds())
	if final {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) done() {
	if p.on && time.Since(p.started) > 300*time.Millisecond {
		p.draw(true)
	}
}
