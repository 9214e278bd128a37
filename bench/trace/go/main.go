// Peer side of bench/trace: span start + end with two attributes, sampled, handed to a span
// processor that drops it (the same set-up as the C side), on the OpenTelemetry Go SDK.
// Prints one line per case: "<case> <ns/op>".
package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// dropProcessor receives every ended span and drops it.
type dropProcessor struct{}

func (dropProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (dropProcessor) OnEnd(sdktrace.ReadOnlySpan)                    {}
func (dropProcessor) Shutdown(context.Context) error                 { return nil }
func (dropProcessor) ForceFlush(context.Context) error               { return nil }

var (
	keyMethod = attribute.Key("http.request.method")
	keyStatus = attribute.Key("http.response.status_code")
)

func run(name string, n int, ctx context.Context, tr trace.Tracer) {
	// warm-up
	for i := 0; i < n/10; i++ {
		_, s := tr.Start(ctx, "GET /users/{id}")
		s.SetAttributes(keyMethod.String("GET"), keyStatus.Int64(200))
		s.End()
	}
	best := 0.0
	for rep := 0; rep < 5; rep++ {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			_, s := tr.Start(ctx, "GET /users/{id}")
			s.SetAttributes(keyMethod.String("GET"), keyStatus.Int64(200))
			s.End()
		}
		ns := float64(time.Since(t0).Nanoseconds()) / float64(n)
		if best == 0 || ns < best {
			best = ns
		}
	}
	fmt.Printf("%s %.1f\n", name, best)
}

func main() {
	n := flag.Int("n", 1000000, "iterations per repetition")
	flag.Parse()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(dropProcessor{}),
	)
	tr := tp.Tracer("bench")
	run("root", *n, context.Background(), tr)
	pctx, parent := tr.Start(context.Background(), "parent")
	run("child", *n, pctx, tr)
	parent.End()
	_ = tp.Shutdown(context.Background())
}
