package classify

import (
	"net/netip"

	"github.com/weirnet/weir/internal/classify/catalog"
)

// CatalogApps adapts the embedded catalog to the Apps interface.
func CatalogApps(c *catalog.Catalog) Apps { return catalogApps{c} }

type catalogApps struct{ c *catalog.Catalog }

func (a catalogApps) ByHostName(host string) (string, string, bool) {
	id, ok := a.c.ByHost(host)
	return a.name(id, ok)
}

func (a catalogApps) ByAddress(addr netip.Addr) (string, string, bool) {
	id, ok := a.c.ByAddr(addr)
	return a.name(id, ok)
}

func (a catalogApps) ByID(app string) (string, bool) {
	r, ok := a.c.App(app)
	if !ok {
		return "", false
	}
	return r.Category.String(), true
}

func (a catalogApps) name(id catalog.AppID, ok bool) (string, string, bool) {
	if !ok {
		return "", "", false
	}
	r, ok := a.c.AppByID(id)
	if !ok {
		return "", "", false
	}
	return r.ID, r.Category.String(), true
}
