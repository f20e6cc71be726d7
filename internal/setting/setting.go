// Package setting names a configuration value a package refuses, so that
// the program that set it can name its own flag for it. It must never
// hold or decide a setting itself.
package setting

import "fmt"

// Error is a setting its package cannot run with. Name is the Go name of
// the setting (a Config field); Want says what would be accepted.
type Error struct {
	Name  string
	Value any
	Want  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s %v: want %s", e.Name, e.Value, e.Want) }

// Bad returns the Error for setting name at value.
func Bad(name string, value any, want string) *Error {
	return &Error{Name: name, Value: value, Want: want}
}
