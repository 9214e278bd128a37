// The Go peer of bench/http: net/http answering GET / with {"message":"hello"} and the same
// headers as the libmsb server (Content-Type, a random X-Request-Id). GOMAXPROCS is the worker
// count. Usage: hello-go HOST:PORT WORKERS
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
)

var body = []byte(`{"message":"hello"}`)

func hello(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	var id [16]byte
	rand.Read(id[:])
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Request-Id"] = []string{hex.EncodeToString(id[:])}
	w.Write(body)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hello-go HOST:PORT WORKERS")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "hello-go: WORKERS must be a positive integer")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(n)
	if err := http.ListenAndServe(os.Args[1], http.HandlerFunc(hello)); err != nil {
		fmt.Fprintln(os.Stderr, "hello-go:", err)
		os.Exit(1)
	}
}
