package enforce

// Packet marks carry a verdict from user space to the kernel, and through
// CONNMARK to every later packet of the connection. The values are
// distinctive ("W" = 0x57) so they do not collide with marks set by other
// tools on the same router.
const (
	markAllow        uint32 = 0x5701
	markDrop         uint32 = 0x5702
	markThrottleBase uint32 = 0x5800 // + class index (0..255)
	markMaskThrottle uint32 = 0xff00
)
