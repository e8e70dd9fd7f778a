package policy

// Embedded zone data (about 450 kB) so that `when: {tz: Europe/Minsk}` works
// on minimal hosts and containers without /usr/share/zoneinfo; the system
// database still wins when present.
import _ "time/tzdata"
