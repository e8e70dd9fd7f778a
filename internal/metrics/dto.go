package metrics

import dto "github.com/prometheus/client_model/go"

type dtoMetric struct{ m dto.Metric }

func (d *dtoMetric) label(name string) string {
	for _, l := range d.m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func (d *dtoMetric) value() float64 {
	if c := d.m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return d.m.GetGauge().GetValue()
}
