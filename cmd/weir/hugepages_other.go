//go:build !linux

package main

// adviseHugePages is Linux-only (transparent huge pages).
func adviseHugePages() {}
