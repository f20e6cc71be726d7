package feed

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// gzipMagic starts every gzip file.
var gzipMagic = []byte{0x1f, 0x8b}

// tickFile is a tick file open for reading: plain, or gzip-compressed
// (told by its first two bytes, whatever its name).
type tickFile struct {
	path string
	f    *os.File
	raw  *countingReader // the file's bytes, counted as the decompressor takes them
	gz   *gzip.Reader    // nil: not compressed
	r    io.Reader       // the ticks' bytes
}

func openTickFile(path string) (*tickFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	tf := &tickFile{path: path, f: f, raw: &countingReader{r: bufio.NewReader(f)}}
	head, err := tf.raw.r.Peek(2)
	if err == nil && head[0] == gzipMagic[0] && head[1] == gzipMagic[1] {
		if tf.gz, err = gzip.NewReader(tf.raw); err != nil {
			f.Close()
			return nil, tf.gzipError(err)
		}
		tf.r = tf.gz
		return tf, nil
	}
	tf.r = tf.raw
	return tf, nil
}

// Read reads the ticks' bytes; a fault of the compressed data is an
// error naming the file and the byte offset where it was found.
func (tf *tickFile) Read(p []byte) (int, error) {
	n, err := tf.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && tf.gz != nil {
		err = tf.gzipError(err)
	}
	return n, err
}

func (tf *tickFile) gzipError(err error) error {
	what := "corrupt"
	if errors.Is(err, io.ErrUnexpectedEOF) {
		what = "truncated"
	}
	return fmt.Errorf("%s: gzip data %s at byte %d: %w", tf.path, what, tf.raw.n, err)
}

func (tf *tickFile) Close() error { return tf.f.Close() }

// countingReader counts the bytes read through it. It is an
// io.ByteReader, so that a gzip reader takes from it exactly what it
// uses, and the count is where the decompressor is.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// TickWriter writes ticks to a file in the tick format its name asks
// for: CSV if it ends in .csv or .csv.gz, NDJSON otherwise, gzip-
// compressed if it ends in .gz. Every tick keeps its seq and ts.
type TickWriter struct {
	f   *os.File
	gz  *gzip.Writer
	w   *bufio.Writer
	csv bool
	buf []byte
}

// CreateTickFile creates (or truncates) the file at path for a TickWriter.
func CreateTickFile(path string) (*TickWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	tw := &TickWriter{f: f}
	var out io.Writer = f
	name := strings.ToLower(path)
	if base, ok := strings.CutSuffix(name, ".gz"); ok {
		tw.gz = gzip.NewWriter(f)
		out, name = tw.gz, base
	}
	tw.w = bufio.NewWriter(out)
	if tw.csv = strings.HasSuffix(name, ".csv"); tw.csv {
		if _, err := tw.w.WriteString(CSVHeader + "\n"); err != nil {
			f.Close()
			return nil, err
		}
	}
	return tw, nil
}

// Write appends one tick.
func (tw *TickWriter) Write(t Tick) error {
	if tw.csv {
		tw.buf = appendCSV(tw.buf[:0], &t)
	} else {
		tw.buf = append(t.AppendJSON(tw.buf[:0]), '\n')
	}
	_, err := tw.w.Write(tw.buf)
	return err
}

// Close flushes what is buffered, ends the compressed stream and closes
// the file: a file not closed may end in a truncated gzip member.
func (tw *TickWriter) Close() error {
	err := tw.w.Flush()
	if tw.gz != nil {
		err = errors.Join(err, tw.gz.Close())
	}
	return errors.Join(err, tw.f.Close())
}

// appendCSV appends t as a line of CSVHeader's columns, its prices in the
// shortest decimal form, as its JSON has them.
func appendCSV(dst []byte, t *Tick) []byte {
	dst = strconv.AppendUint(dst, t.Seq, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, t.Time.UnixNano(), 10)
	dst = append(dst, ',')
	dst = append(dst, t.Symbol...)
	for _, p := range []float64{t.Price, t.Bid, t.Ask} {
		dst = append(dst, ',')
		dst = appendPrice(dst, p)
	}
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, t.Size, 10)
	return append(dst, '\n')
}
