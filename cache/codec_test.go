package cache

import (
	"reflect"
	"testing"
	"time"

	"wrenn.dev/wrenn/lang"
)

func TestRecordCodecRoundTrip(t *testing.T) {
	r := Record{Key: "sha256:ab", Snapshot: SnapshotRef{Agent: "a", ID: "l", Kind: KindSnapshot}, Parents: []string{"p1", "p2"},
		Text: "RUN echo ünïcode", Source: lang.Range{File: "W", Start: lang.Pos{Line: 3, Column: 2, Offset: 40}, End: lang.Pos{Line: 4, Column: 1, Offset: 60}},
		Digest: "sha256:cd", SizeBytes: 1 << 40, Created: time.Unix(1700000000, 5).UTC(), LastUsed: time.Unix(1700000100, 0).UTC(), Hits: 7, Template: "t", Stage: "s"}
	var got Record
	if err := decodeRecord(encodeRecord(&r), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}
	b := encodeRecord(&r)
	b[0] = recordFormat + 1
	if err := decodeRecord(b, &got); err == nil || err.Error() != "record has format version 2, this wrenn reads up to 1: upgrade wrenn or use another --cache-dir" {
		t.Errorf("newer format: %v", err)
	}
	for n := 0; n < len(b); n++ {
		if err := decodeRecord(encodeRecord(&r)[:n], &got); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// FuzzDecodeRecord: no input makes the decoder panic, and whatever decodes
// encodes back to a value that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(&Record{Key: "k", Parents: []string{"p"}, Text: "RUN x"}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if decodeRecord(b, &r) != nil {
			return
		}
		var again Record
		if err := decodeRecord(encodeRecord(&r), &again); err != nil || !reflect.DeepEqual(r, again) {
			t.Fatalf("re-decode: %v\n%+v\n%+v", err, r, again)
		}
	})
}
