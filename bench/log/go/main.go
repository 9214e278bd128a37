// zap side of ./bench/run log: N records of one message with six typed fields, written to a
// file through a BufferedWriteSyncer, from T goroutines. Configured like the libmsb logger:
// JSON encoder, keys ts/level/msg, lowercase levels, RFC 3339 UTC time with microseconds
// (TimeEncoderOfLayout "2006-01-02T15:04:05.000000Z07:00" on t.UTC(), the same text as
// libmsb's), a bound "service" field, no sampling, no caller, no stack traces.
// Prints one line: elapsed_ns=<ns>
// Usage: zap_bench PATH RECORDS THREADS BUFFER_BYTES
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const layout = "2006-01-02T15:04:05.000000Z07:00"

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: zap_bench PATH RECORDS THREADS BUFFER_BYTES")
		os.Exit(2)
	}
	records, _ := strconv.Atoi(os.Args[2])
	threads, _ := strconv.Atoi(os.Args[3])
	buffer, _ := strconv.Atoi(os.Args[4])
	f, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	micros := zapcore.TimeEncoderOfLayout(layout)
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		MessageKey:     "msg",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     func(t time.Time, e zapcore.PrimitiveArrayEncoder) { micros(t.UTC(), e) },
		EncodeDuration: zapcore.StringDurationEncoder,
	})
	ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(f), Size: buffer, FlushInterval: time.Second}
	logger := zap.New(zapcore.NewCore(enc, ws, zapcore.InfoLevel)).With(zap.String("service", "bench"))

	per := records / threads
	var wg sync.WaitGroup
	t0 := time.Now()
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				logger.Info("request handled",
					zap.String("method", "GET"),
					zap.String("path", "/api/v1/orders/12345"),
					zap.Int64("status", 200),
					zap.Int64("bytes", int64(i)),
					zap.Float64("latency_ms", float64(i%1000)*0.013),
					zap.Bool("cached", i&1 == 1))
			}
		}()
	}
	wg.Wait()
	if err := ws.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("elapsed_ns=%d\n", time.Since(t0).Nanoseconds())
}
