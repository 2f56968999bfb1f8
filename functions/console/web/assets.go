// Package web holds the console's TypeScript sources (src/, built by Vite) and embeds
// their build, dist/, into the binary. A clone that never ran the build embeds only
// dist/.keep, and the console serves a page that says how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the build's root: index.html and assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only on an invalid name, and "dist" is valid.
		panic(err)
	}
	return sub
}
