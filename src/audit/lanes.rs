//! One worker hashing several payloads at once: the hashing half of the audit.
//!
//! One SHA-256 stream leaves most of a core's SHA unit waiting on its own results; streams of
//! different payloads interleaved on the same core do not ([`sxs_sha256x`]: one core's
//! SHA-256 went from 1.57 to 3.29 GB/s with four streams). So each worker keeps [`LANES`]
//! payloads open, reads a chunk of each into the lane's own page-aligned buffer, and feeds
//! the chunks' whole blocks to [`sxs_sha256x::update_together`]. A lane whose chunk is used
//! up reads the next one, or, at the end of its payload, hands the digests over and takes
//! the next payload; so the lanes stay full until the queue runs dry, whatever the sizes.
//!
//! What a payload needs besides SHA-256 (SHA-1 for a legacy assembly, both for an
//! inventory) is fed chunk by chunk as it is read. A compressed payload (its first chunk
//! sniffed, before anything is hashed) is read to its end and decoded into the lane's own
//! buffer, with the same findings as the ordinary path ([`super::digest_read`]) when it
//! does not decode; its plain bytes are then hashed in the lane like a file's. The lane
//! keeps that buffer for its next compressed payload, up to [`DECODED_IN_LANE`] bytes; a
//! payload that decodes to more is hashed at once, on one stream, and its buffer let go, so
//! memory does not follow payload sizes.
//!
//! The engine touches no file itself: a [`Feed`] opens each payload (a reader from the
//! store) and takes its digests.

use std::io::{self, Read};

use sxs_iobuf::AlignedBuf;

use super::Digests;
use crate::codec::{self, Codecs};
use crate::format::digest::Algorithm;
use crate::format::Container;
use crate::hash::Hashers;
use crate::store::fill;

/// Payloads one worker hashes at once: as many streams as [`sxs_sha256x`] interleaves.
pub(super) const LANES: usize = sxs_sha256x::LANES;

/// Each lane's read size. Four lanes of 128 KiB fill a Zen 3 core's 512 KiB L2, where the
/// hashing reads what the kernel just copied; 64 KiB cost more system calls, 256 KiB
/// measured the same as 128 (`benches/PERF-NOTES.md`, session 8).
pub(super) const CHUNK: usize = 128 * 1024;

/// The largest decoded payload a lane hashes beside the others, and the largest decode
/// buffer it keeps between payloads: eight lanes (two workers) hold at most 32 MiB this way.
/// Nearly all DCN payloads are far smaller (the full-scale bench image's 3,677 decode to
/// 64 KB on average).
const DECODED_IN_LANE: usize = 4 << 20;

/// A payload to hash: who it is (for [`Feed::done`]), what digests it needs, and its reader,
/// or why it could not be opened.
pub(super) struct Next<'a> {
    pub key: usize,
    pub algorithms: &'a [Algorithm],
    pub reader: io::Result<Box<dyn Read + Send>>,
}

/// Where one worker's payloads come from and where their digests go.
pub(super) trait Feed<'a> {
    /// The next payload; `None` when there are no more.
    fn next(&mut self) -> Option<Next<'a>>;
    /// The digests of the payload `key`, or why there are none.
    fn done(&mut self, key: usize, digests: Digests);
}

/// One payload being hashed, and its buffer.
struct Lane {
    key: usize,
    reader: Option<Box<dyn Read + Send>>,
    hashers: Hashers,
    buf: AlignedBuf,
    /// A compressed payload's plain bytes, hashed from here instead of `buf` when
    /// `in_decoded`.
    decoded: Vec<u8>,
    in_decoded: bool,
    /// The bytes SHA-256 has not taken yet: `at..len` of the buffer's window, or of
    /// `decoded`.
    at: usize,
    len: usize,
    /// Payload bytes read.
    bytes: u64,
    /// The reader has ended.
    ended: bool,
}

impl Lane {
    fn new() -> Self {
        Lane {
            key: 0,
            reader: None,
            hashers: Hashers::new(&[]),
            buf: AlignedBuf::with_capacity(CHUNK),
            decoded: Vec::new(),
            in_decoded: false,
            at: 0,
            len: 0,
            bytes: 0,
            ended: false,
        }
    }

    /// Make sure the lane has bytes for SHA-256, finishing payloads and taking new ones as
    /// needed; `false` when the feed has no more.
    fn refill<'a>(&mut self, feed: &mut dyn Feed<'a>, codecs: &Codecs) -> bool {
        loop {
            let Some(reader) = self.reader.as_mut() else {
                let Some(next) = feed.next() else {
                    return false;
                };
                match next.reader {
                    Ok(reader) => self.start(next.key, next.algorithms, reader),
                    Err(e) => feed.done(next.key, super::unreadable(&e, 0)),
                }
                continue;
            };
            if self.at < self.len {
                return true;
            }
            if self.ended {
                let hashers = std::mem::replace(&mut self.hashers, Hashers::new(&[]));
                self.reader = None;
                if std::mem::take(&mut self.in_decoded) {
                    self.trim_decoded();
                }
                let digests = Digests {
                    values: Ok(hashers.finish()),
                    container_ok: None,
                    bytes: self.bytes,
                };
                feed.done(self.key, digests);
                continue;
            }
            let buf = self.buf.window(CHUNK, 0);
            let n = match fill(reader, buf) {
                Ok(n) => n,
                Err(e) => {
                    self.reader = None;
                    feed.done(self.key, super::unreadable(&e, self.bytes));
                    continue;
                }
            };
            let container = if self.bytes == 0 && n > 0 {
                Container::sniff(&buf[..n])
            } else {
                Container::Plain
            };
            if container != Container::Plain {
                let decoded = &mut self.decoded;
                if let Err(digests) =
                    super::decode_in_lane(codecs, container, buf, n, reader, decoded)
                {
                    self.reader = None;
                    self.trim_decoded();
                    feed.done(self.key, digests);
                    continue;
                }
                let len = decoded.len();
                self.in_decoded = true;
                self.hold(len, true);
                if len > DECODED_IN_LANE {
                    // Hashed at once rather than held while the other lanes go on.
                    if let Some(stream) = self.hashers.sha256_stream() {
                        stream.update(&self.decoded);
                    }
                    self.at = self.len;
                }
                continue;
            }
            self.hold(n, n < CHUNK);
        }
    }

    /// The payload's next `n` bytes are the first of the lane's bytes (the chunk, or the
    /// decoded payload): feed them to every digest but SHA-256, and leave them for SHA-256,
    /// which takes them beside the other lanes' ([`run`]), when the payload needs it.
    fn hold(&mut self, n: usize, ended: bool) {
        let bytes = &held(&mut self.buf, &self.decoded, self.in_decoded)[..n];
        self.hashers.update_others(bytes);
        self.bytes += n as u64;
        self.ended = ended;
        self.at = 0;
        self.len = if self.hashers.sha256_stream().is_some() {
            n
        } else {
            0
        };
    }

    /// Let the decode buffer go when a large payload grew it past what a lane keeps.
    fn trim_decoded(&mut self) {
        codec::trim_above(&mut self.decoded, DECODED_IN_LANE);
    }

    fn start(&mut self, key: usize, algorithms: &[Algorithm], reader: Box<dyn Read + Send>) {
        self.key = key;
        self.reader = Some(reader);
        self.hashers = Hashers::new(algorithms);
        self.at = 0;
        self.len = 0;
        self.bytes = 0;
        self.ended = false;
    }
}

/// Where a lane's bytes are: its chunk buffer, or the payload it decoded.
fn held<'b>(buf: &'b mut AlignedBuf, decoded: &'b [u8], in_decoded: bool) -> &'b [u8] {
    if in_decoded {
        decoded
    } else {
        buf.window(CHUNK, 0)
    }
}

/// Hash every payload `feed` gives, [`LANES`] at a time, until it has no more.
pub(super) fn run<'a>(codecs: &Codecs, feed: &mut dyn Feed<'a>) {
    let mut lanes: Vec<Lane> = (0..LANES).map(|_| Lane::new()).collect();
    let mut dry = false;
    loop {
        for lane in lanes.iter_mut() {
            // Once the feed is dry, lanes only finish what they hold.
            if !dry || lane.reader.is_some() {
                dry |= !lane.refill(feed, codecs);
            }
        }
        let mut streams: Vec<&mut sxs_sha256x::Sha256> = Vec::with_capacity(LANES);
        let mut data: Vec<&[u8]> = Vec::with_capacity(LANES);
        let mut fed: Vec<(&mut usize, usize)> = Vec::with_capacity(LANES);
        for lane in lanes.iter_mut().filter(|l| l.at < l.len) {
            let Lane {
                hashers,
                buf,
                decoded,
                in_decoded,
                at,
                len,
                ..
            } = lane;
            let Some(stream) = hashers.sha256_stream() else {
                continue;
            };
            streams.push(stream);
            data.push(&held(buf, decoded, *in_decoded)[*at..*len]);
            fed.push((at, *len));
        }
        if streams.is_empty() {
            if dry {
                return;
            }
            continue;
        }
        sxs_sha256x::update_together(&mut streams, &mut data);
        for ((at, len), left) in fed.into_iter().zip(&data) {
            *at = len - left.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Kind;
    use std::collections::BTreeMap;

    /// A payload as the fake feed serves it.
    struct Payload {
        data: Vec<u8>,
        algorithms: &'static [Algorithm],
        /// The reader fails once it has given this many bytes.
        fail_at: Option<usize>,
        /// Opening it fails.
        absent: bool,
    }

    /// Gives at most 50,000 bytes a call, so that `fill` has to loop.
    struct Reader {
        data: Vec<u8>,
        at: usize,
        fail_at: Option<usize>,
    }

    impl Read for Reader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.fail_at.is_some_and(|f| self.at >= f) {
                return Err(io::Error::other("the disk is gone"));
            }
            let end = self.data.len().min(self.at + buf.len().min(50_000));
            let end = self.fail_at.map_or(end, |f| end.min(f));
            let n = end - self.at;
            buf[..n].copy_from_slice(&self.data[self.at..end]);
            self.at = end;
            Ok(n)
        }
    }

    struct Fake {
        payloads: Vec<Payload>,
        next: usize,
        got: BTreeMap<usize, Digests>,
    }

    impl Feed<'static> for Fake {
        fn next(&mut self) -> Option<Next<'static>> {
            let key = self.next;
            let p = self.payloads.get(key)?;
            self.next += 1;
            let reader: io::Result<Box<dyn Read + Send>> = if p.absent {
                Err(io::Error::new(io::ErrorKind::NotFound, "no such file"))
            } else {
                Ok(Box::new(Reader {
                    data: p.data.clone(),
                    at: 0,
                    fail_at: p.fail_at,
                }))
            };
            Some(Next {
                key,
                algorithms: p.algorithms,
                reader,
            })
        }

        fn done(&mut self, key: usize, digests: Digests) {
            assert!(self.got.insert(key, digests).is_none(), "{key} done twice");
        }
    }

    fn payload(len: usize, algorithms: &'static [Algorithm]) -> Payload {
        Payload {
            // Not a compressed container's magic at the start, and different in every byte.
            data: (0..len).map(|i| (i * 7 + len) as u8 | 0x80).collect(),
            algorithms,
            fail_at: None,
            absent: false,
        }
    }

    #[test]
    fn every_payload_gets_the_digests_of_its_bytes() {
        const SHA256: &[Algorithm] = &[Algorithm::Sha256];
        let mut payloads: Vec<Payload> = [
            3 * CHUNK + 5,
            0,
            1,
            63,
            64,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            10,
            200_000,
        ]
        .into_iter()
        .map(|len| payload(len, SHA256))
        .collect();
        // A legacy assembly's SHA-1 alone, and both (an inventory of one), in lanes beside
        // SHA-256 streams.
        payloads.push(payload(CHUNK + 100, &[Algorithm::Sha1]));
        payloads.push(payload(70_000, &[Algorithm::Sha1, Algorithm::Sha256]));
        let mut broken = payload(2 * CHUNK + 9, SHA256);
        broken.fail_at = Some(CHUNK + 20);
        payloads.push(broken);
        let mut absent = payload(5, SHA256);
        absent.absent = true;
        payloads.push(absent);
        payloads.extend((0..9).map(|i| payload(1000 * i + 3, SHA256)));
        let mut fake = Fake {
            payloads,
            next: 0,
            got: BTreeMap::new(),
        };
        run(&Codecs { base: None }, &mut fake);
        assert_eq!(fake.got.len(), fake.payloads.len());
        for (key, p) in fake.payloads.iter().enumerate() {
            let d = &fake.got[&key];
            if p.absent || p.fail_at.is_some() {
                let (kind, why) = d.values.as_ref().expect_err("a failure");
                assert_eq!(*kind, Kind::Unreadable);
                assert!(why.starts_with("cannot read the payload: "), "{why}");
                // The whole chunks read before the failure.
                let before = p.fail_at.map_or(0, |f| f / CHUNK * CHUNK);
                assert_eq!(d.bytes, before as u64, "{key}");
                continue;
            }
            let values = d.values.as_ref().expect("digests");
            assert_eq!(d.bytes, p.data.len() as u64, "{key}");
            for &a in [Algorithm::Sha256, Algorithm::Sha1].iter() {
                let want = p
                    .algorithms
                    .contains(&a)
                    .then(|| crate::hash::digest(a, &p.data));
                assert_eq!(values.get(a), want.as_deref(), "{key} {a:?}");
            }
        }
    }

    /// A DCN file of `plain`, as the store keeps one.
    fn dcn(plain: &[u8]) -> Vec<u8> {
        let delta = sxs_pa30::encode(plain, &[], &sxs_pa30::EncodeOptions::default());
        [b"DCN\x01".as_slice(), &delta].concat()
    }

    #[test]
    fn compressed_payloads_are_decoded_and_hashed_in_lanes_as_anywhere_else() {
        const SHA256: &[Algorithm] = &[Algorithm::Sha256];
        const BOTH: &[Algorithm] = &[Algorithm::Sha1, Algorithm::Sha256];
        let noise = |len: usize, seed: u64| {
            let mut v = vec![0u8; len];
            crate::demo::rng::Rng::new(seed).fill_payload(&mut v);
            v
        };
        // Plain contents: one that fits a chunk once compressed, one whose DCN file is
        // larger than a chunk (gathered from several reads), one that decodes to more than
        // a lane holds (hashed at once), an empty one; each beside plain payloads.
        let small = noise(20_000, 1);
        let spread = noise(3 * CHUNK, 2);
        let big = noise(DECODED_IN_LANE + 1000, 3);
        assert!(dcn(&spread).len() > CHUNK);
        let mut payloads = Vec::new();
        let mut plain: Vec<Option<Vec<u8>>> = Vec::new();
        for (content, algorithms) in [
            (&small, SHA256),
            (&spread, BOTH),
            (&big, SHA256),
            (&Vec::new(), SHA256),
            (&small, &[Algorithm::Sha1][..]),
        ] {
            payloads.push(Payload {
                data: dcn(content),
                ..payload(0, algorithms)
            });
            plain.push(Some(content.clone()));
            payloads.push(payload(CHUNK + 77, SHA256));
            plain.push(None);
        }
        // One that does not decode, one that cannot be verified here, one whose disk fails
        // after its first chunk.
        let mut corrupt = dcn(&small);
        corrupt.truncate(corrupt.len() / 2);
        let mut dcd = b"DCD\x01".to_vec();
        dcd.extend_from_slice(&small);
        for data in [corrupt, dcd] {
            payloads.push(Payload {
                data,
                ..payload(0, SHA256)
            });
            plain.push(None);
        }
        payloads.push(Payload {
            data: dcn(&spread),
            fail_at: Some(CHUNK + 10),
            ..payload(0, SHA256)
        });
        plain.push(None);
        let codecs = Codecs { base: None };
        let mut fake = Fake {
            payloads,
            next: 0,
            got: BTreeMap::new(),
        };
        run(&codecs, &mut fake);
        assert_eq!(fake.got.len(), fake.payloads.len());
        let mut decoded = 0;
        for (key, p) in fake.payloads.iter().enumerate() {
            let got = &fake.got[&key];
            // The ordinary path, over the same bytes and the same failing reader.
            let mut reader = Reader {
                data: p.data.clone(),
                at: 0,
                fail_at: p.fail_at,
            };
            let want = super::super::digest_read(&codecs, p.algorithms, &mut |sink| {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = fill(&mut reader, &mut buf)?;
                    if n > 0 {
                        sink(&buf[..n])?;
                    }
                    if n < CHUNK {
                        return Ok(crate::store::ReadInfo::default());
                    }
                }
            });
            assert_eq!(got.values, want.values, "{key}");
            assert_eq!(got.bytes, want.bytes, "{key}");
            assert_eq!(got.container_ok, want.container_ok, "{key}");
            if let Some(content) = &plain[key] {
                decoded += 1;
                let values = got.values.as_ref().expect("digests");
                assert_eq!(got.bytes, content.len() as u64, "{key}");
                for &a in p.algorithms {
                    let digest = crate::hash::digest(a, content);
                    assert_eq!(values.get(a), Some(&digest[..]), "{key} {a:?}");
                }
            }
        }
        assert_eq!(decoded, 5);
        let kinds: Vec<Kind> = (10..13)
            .map(|k| fake.got[&k].values.as_ref().unwrap_err().0)
            .collect();
        assert_eq!(
            kinds,
            [Kind::HashMismatch, Kind::Unverifiable, Kind::Unreadable]
        );
    }

    #[test]
    fn an_empty_feed_ends_at_once() {
        let mut fake = Fake {
            payloads: Vec::new(),
            next: 0,
            got: BTreeMap::new(),
        };
        run(&Codecs { base: None }, &mut fake);
        assert!(fake.got.is_empty());
    }
}
