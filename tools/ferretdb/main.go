// Command ferretdb runs FerretDB v1 with its SQLite backend, embedded as a library.
// With --postgresql-url it uses FerretDB's PostgreSQL backend instead (for the benchmark
// only: it pushes equality on top-level fields down to PostgreSQL, which SQLite does not).
//
// Building FerretDB's own command with `go install` gives a binary that panics at start
// (it expects a version.txt the module does not ship), so Anju embeds the public
// github.com/FerretDB/FerretDB/ferretdb package instead. It listens on loopback only.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to listen on (loopback only)")
	dataDir := flag.String("data", "", "directory for the SQLite files; empty means in memory")
	pgURL := flag.String("postgresql-url", "", "use the PostgreSQL backend at this URL instead of SQLite")
	flag.Parse()

	if *pgURL != "" {
		if *dataDir != "" {
			log.Fatal("--data and --postgresql-url are exclusive")
		}
		run(*listen, &ferretdb.Config{Handler: "postgresql", PostgreSQLURL: *pgURL}, "PostgreSQL")
		return
	}

	sqliteURL := "file:./?mode=memory"
	if *dataDir != "" {
		abs, err := filepath.Abs(*dataDir)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			log.Fatal(err)
		}
		sqliteURL = "file:" + abs + "/"
	}

	run(*listen, &ferretdb.Config{Handler: "sqlite", SQLiteURL: sqliteURL}, sqliteURL)
}

// run starts FerretDB with config on listen until SIGINT or SIGTERM; data names the
// storage in the start-up line (never the PostgreSQL URL, which may hold a password).
func run(listen string, config *ferretdb.Config, data string) {
	config.Listener = ferretdb.ListenerConfig{TCP: listen}
	f, err := ferretdb.New(config)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data %s\n", listen, data)
	f.Run(ctx)
}
