// Package archtest holds the test that keeps wrenn's imports pointing one way
// (DESIGN.md "Layout and dependency direction").
package archtest
