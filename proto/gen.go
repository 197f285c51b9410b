package proto

// One command regenerates every .proto file under proto/ (found by walking
// the tree, so a new .proto file needs no change here) with the plugins
// pinned in go.mod's tool directives. generated_test.go fails when the
// checked-in code is stale.
//go:generate go run ./internal/protogen -src . -out .
