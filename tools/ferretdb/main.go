// Command ferretdb runs FerretDB v1 with its SQLite backend, embedded as a library.
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
	flag.Parse()

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

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data %s\n", *listen, sqliteURL)
	f.Run(ctx)
}
