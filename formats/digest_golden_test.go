package formats

import (
	"math/rand/v2"
	"testing"
)

// goldenInput is message n of a fixed set: runs of text with CRs, LFs,
// NULs and 8-bit bytes in every arrangement, header and body.
func goldenInput(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 99))
	alphabet := []byte("ab .\r\n\r\n\x00\xff\xe9From")
	out := make([]byte, r.IntN(3000))
	for i := range out {
		if r.IntN(4) == 0 {
			out[i] = alphabet[r.IntN(len(alphabet))]
		} else {
			out[i] = byte('a' + r.IntN(26))
		}
	}
	return out
}

// TestDigestGolden holds the digest to the values it had before its fast
// path for runs of plain body bytes: a change of any of them would make
// every state file's digests stop matching.
func TestDigestGolden(t *testing.T) {
	for n, want := range goldenDigests {
		msg := goldenInput(n)
		if got := ContentDigest(msg); got != want.digest {
			t.Errorf("input %d: digest %s, want %s", n, got, want.digest)
		}
		if got := VirtualSize(msg); got != want.vsize {
			t.Errorf("input %d: virtual size %d, want %d", n, got, want.vsize)
		}
		for _, step := range []int{1, 7, 4096} {
			d := NewDigester()
			for i := 0; i < len(msg); i += step {
				d.Write(msg[i:min(i+step, len(msg))])
			}
			if got := d.Sum(); got != want.digest {
				t.Errorf("input %d in pieces of %d: digest %s, want %s", n, step, got, want.digest)
			}
		}
	}
}

// goldenDigests are ContentDigest and VirtualSize of goldenInput(0…39).
var goldenDigests = []struct {
	digest string
	vsize  int64
}{
	{"dd265c31d924dbb5a9c3958ab49404a3c", 2166},
	{"dea713ed17631526b8058affef1b25aa2", 2337},
	{"d70d22e8745d0ea5d51818daef3f9009b", 367},
	{"d568feaf4bfcefe78562380dda615ec0f", 788},
	{"df072de724a7a6c8222237c6f20e4ec2d", 2956},
	{"db540006c37b574db210898eaa37d27f2", 1179},
	{"da05817639b9bd11131054d5f4eac8f6d", 1739},
	{"d83490d55eb9a7558488b23b9bcef20b0", 1034},
	{"dbdd2db11cd7c996da8ada4cfdcf71ac3", 699},
	{"d066a14054cff2a6e347a86089d5e49d2", 1096},
	{"d27c6018fff500e4838c96fa12487bf82", 1493},
	{"d117e9e773f10e9d665b08cb3063c5112", 1480},
	{"df600d4c050fc0e09992d4f257a087ca6", 1083},
	{"d135e81fc7e1b7fffa2ed50cdeb849036", 2653},
	{"da72d9adbcc53a341697df32d75816763", 2478},
	{"df3755a7c60bcf8e4bcbf92480c6a21df", 318},
	{"db1be2dfbabbf10e8831de4012b01cc06", 412},
	{"dac2221c510ea82d6259ed84ad3233969", 1429},
	{"ddf467129a19eefad4de4b10bb781e20b", 355},
	{"d68a9d3887abf3d9e4b806d478371e2ba", 3079},
	{"d7c5c3f0fafe9a78ce40e7c0e048d23a1", 1607},
	{"d05dfc2b539c3027ce15287182a672de9", 2456},
	{"d2b3865fe20e66e63d1b31831607fdcd5", 695},
	{"d67e10427aeb8380b9438ced5daf668c8", 1887},
	{"d4f013ac2e84977d0f49f09b8019b8b6a", 1953},
	{"d77c41064f456449fa34f2963b275c718", 2880},
	{"d0268c5ce438f67b9bc02d1dbaf40a574", 1230},
	{"dd6b1e530965fb9c50b86104c6ec0e19e", 689},
	{"d0c62f118a791a92c2023a6eb9c0a8588", 2361},
	{"d4ec6247991d85ec33bafd20cb615efce", 1856},
	{"de3fcba12fa83af3973532025002c938a", 2736},
	{"df4b3595a08aafdedf2304676f0109424", 2277},
	{"df7a1019643661cfb5894eda736724777", 659},
	{"d2e34a57b09f580802baf275daed63a69", 1341},
	{"dcc3d061c695b833fe8e73a252c07be97", 816},
	{"d6c8882c66c9abd84be93a23f61287919", 1315},
	{"d3b54fd861f6d88b6acc17063e919e963", 2453},
	{"d13a096e1ad75019897bef8af3658bfcb", 1009},
	{"d0556ce29b729e4bd832cec0f04f6ece1", 904},
	{"d106bb7e56c5f8b001a684c727df9967d", 1483},
}
