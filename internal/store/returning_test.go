package store

import (
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
)

// A batch's ids come from RETURNING only where the server has it.
func TestReturnsIDs(t *testing.T) {
	for version, want := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1": true,
		"10.5.2-MariaDB":             true,
		"10.4.32-MariaDB":            false,
		"11.4.2-MariaDB-log":         true,
		"8.0.36":                     false, // MySQL: no RETURNING on INSERT
		"5.7.44-TiDB-v7.5.0":         false,
	} {
		g := &gorm.DB{Config: &gorm.Config{Dialector: &mysql.Dialector{Config: &mysql.Config{ServerVersion: version}}}}
		if got := ReturnsIDs(g); got != want {
			t.Errorf("ReturnsIDs(%s) = %v, want %v", version, got, want)
		}
	}
	if ReturnsIDs(&gorm.DB{Config: &gorm.Config{Dialector: sqlite.Open("x")}}) {
		t.Error("SQLite: want one INSERT per hold")
	}
}
