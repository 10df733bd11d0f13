//! rust-vmm vm-memory 0.10 (`GuestMemoryMmap`) on the guest-memory workload that
//! `dotnet run -c Release --project bench/Memspace.Benchmarks -- workload ...` runs on Memspace.
//! Both programs take the same arguments and print the same line; see README.md.
//!
//! The workload: 256 MiB of guest RAM in N equal regions contiguous from guest address 0, every
//! u64 holding its own guest address; 65,536 offsets from xorshift64 (seed 0x9E3779B97F4A7C15),
//! masked to 0x0FFFFFF8 (cold) or 0x0FFC01F8 (hot: the first 512 bytes of each 256 KiB chunk);
//! `passes` passes over them per timed run. The baseline, measured in the same process and
//! interleaved with the API runs, is a raw pointer access at the same offsets into the same host
//! mappings (bulk: memcpy of the same bytes from/to the same host mappings).

use std::ptr::{copy_nonoverlapping, read_volatile, write_volatile};
use std::time::Instant;

use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap};

const RAM_BYTES: u64 = 256 << 20;
const ACCESSES: usize = 65_536;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
const COLD_MASK: u64 = 0x0FFF_FFF8;
const HOT_MASK: u64 = 0x0FFC_01F8;
/// Guest address of every bulk access (4 MiB in; with 1024 regions a 1 MiB access spans 4).
const BULK_ADDR: u64 = 0x40_0000;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    HotRead,
    ColdRead,
    HotWrite,
    BulkRead,
    BulkWrite,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::HotRead => "hot-read",
            Mode::ColdRead => "cold-read",
            Mode::HotWrite => "hot-write",
            Mode::BulkRead => "bulk-read",
            Mode::BulkWrite => "bulk-write",
        }
    }
}

struct Args {
    regions: u64,
    modes: Vec<(Mode, usize)>,
    passes: usize,
    runs: usize,
    warmup: usize,
    thp: bool,
}

const USAGE: &str = "usage: vm-memory-baseline [--regions N] [--mode hot-read|cold-read|hot-write|bulk-read|bulk-write|all] \
[--size BYTES (bulk; default 4096)] [--passes P (default 64)] [--runs R (default 7)] [--warmup W (default 2)] [--thp madvise|off]";

fn parse_args() -> Result<Args, String> {
    let mut regions = 1u64;
    let mut mode = "hot-read".to_string();
    let mut size = 4096usize;
    let mut passes = 64usize;
    let mut runs = 7usize;
    let mut warmup = 2usize;
    let mut thp = true;
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let key = argv[i].as_str();
        if key == "-h" || key == "--help" {
            return Err(String::new());
        }
        let value = argv.get(i + 1).ok_or_else(|| format!("{key} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|_| format!("{key}: not a number: {value}"));
        match key {
            "--regions" => regions = number()? as u64,
            "--mode" => mode = value.clone(),
            "--size" => size = number()?,
            "--passes" => passes = number()?,
            "--runs" => runs = number()?,
            "--warmup" => warmup = number()?,
            "--thp" => {
                thp = match value.as_str() {
                    "madvise" => true,
                    "off" => false,
                    _ => return Err(format!("--thp: madvise or off, not {value}")),
                }
            }
            _ => return Err(format!("unknown argument {key}")),
        }
        i += 2;
    }
    if regions == 0 || RAM_BYTES % regions != 0 || (RAM_BYTES / regions) % 4096 != 0 {
        return Err(format!("--regions {regions}: 256 MiB must split into equal multiples of 4 KiB"));
    }
    if size == 0 || size % 8 != 0 || BULK_ADDR + size as u64 > RAM_BYTES {
        return Err(format!("--size {size}: a multiple of 8 up to {} bytes", RAM_BYTES - BULK_ADDR));
    }
    if passes == 0 || runs == 0 {
        return Err("--passes and --runs must be at least 1".into());
    }
    let modes = match mode.as_str() {
        "hot-read" => vec![(Mode::HotRead, 8)],
        "cold-read" => vec![(Mode::ColdRead, 8)],
        "hot-write" => vec![(Mode::HotWrite, 8)],
        "bulk-read" => vec![(Mode::BulkRead, size)],
        "bulk-write" => vec![(Mode::BulkWrite, size)],
        "all" => vec![
            (Mode::HotRead, 8),
            (Mode::ColdRead, 8),
            (Mode::HotWrite, 8),
            (Mode::BulkRead, 4096),
            (Mode::BulkRead, 1 << 20),
            (Mode::BulkWrite, 4096),
            (Mode::BulkWrite, 1 << 20),
        ],
        _ => return Err(format!("unknown --mode {mode}")),
    };
    Ok(Args { regions, modes, passes, runs, warmup, thp })
}

/// The 65,536 workload offsets: xorshift64 step, then the value, masked.
fn offsets(mask: u64) -> Vec<u64> {
    let mut x = SEED;
    (0..ACCESSES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x & mask
        })
        .collect()
}

struct Ram {
    memory: GuestMemoryMmap<()>,
    hosts: Vec<*mut u8>,
    each: u64,
}

impl Ram {
    fn host(&self, guest: u64) -> *mut u8 {
        // SAFETY: guest < RAM_BYTES, so the offset lies inside region guest / each.
        unsafe { self.hosts[(guest / self.each) as usize].add((guest % self.each) as usize) }
    }

    /// The host pieces (one per region crossed) holding guest bytes [guest, guest + len).
    fn pieces(&self, guest: u64, len: usize) -> Vec<(*mut u8, usize)> {
        let mut out = Vec::new();
        let (mut a, mut left) = (guest, len as u64);
        while left > 0 {
            let n = left.min(self.each - a % self.each);
            out.push((self.host(a), n as usize));
            a += n;
            left -= n;
        }
        out
    }
}

fn create_ram(regions: u64, thp: bool) -> Ram {
    let each = RAM_BYTES / regions;
    let ranges: Vec<(GuestAddress, usize)> = (0..regions).map(|i| (GuestAddress(i * each), each as usize)).collect();
    let memory = GuestMemoryMmap::<()>::from_ranges(&ranges).expect("GuestMemoryMmap::from_ranges");
    let hosts: Vec<*mut u8> = (0..regions)
        .map(|i| memory.get_host_address(GuestAddress(i * each)).expect("host address of a region"))
        .collect();
    // QEMU (and Memspace, for private anonymous RAM) ask for transparent huge pages on guest RAM
    // when it is mapped; vm-memory leaves that to the VMM, so this program does it, for every region
    // before the first touch (advising one small region at a time would split it off the merged
    // mapping and keep it on 4 KiB pages).
    let advice = if thp { libc::MADV_HUGEPAGE } else { libc::MADV_NOHUGEPAGE };
    for &h in hosts.iter() {
        // SAFETY: h is the start of a live mapping of `each` bytes.
        unsafe { libc::madvise(h as *mut libc::c_void, each as usize, advice) };
    }
    for (i, &h) in hosts.iter().enumerate() {
        let start = i as u64 * each;
        for j in (0..each).step_by(8) {
            // SAFETY: inside the region, 8-byte aligned.
            unsafe { write_volatile(h.add(j as usize) as *mut u64, start + j) };
        }
    }
    Ram { memory, hosts, each }
}

/// Makes the compiler assume the memory behind `p` is read and written here (what
/// `std::hint::black_box` does; written out so that Debian bookworm's rustc 1.63 builds this too).
#[inline(always)]
fn escape<T>(p: *const T) -> T
where
    T: Copy,
{
    // SAFETY: an empty asm block; p is valid for reads.
    unsafe {
        std::arch::asm!("/* {0} */", in(reg) p, options(nostack, preserves_flags));
        std::ptr::read(p)
    }
}

/// Runs `base` and `api` alternately, `warmup` untimed rounds then `runs` timed ones; returns the
/// median nanoseconds of each. Each closure returns whether its result checked out.
fn measure(warmup: usize, runs: usize, mut base: impl FnMut() -> bool, mut api: impl FnMut() -> bool) -> (f64, f64) {
    let mut base_ns = Vec::with_capacity(runs);
    let mut api_ns = Vec::with_capacity(runs);
    for round in 0..warmup + runs {
        let t = Instant::now();
        let ok_base = base();
        let b = t.elapsed().as_nanos() as f64;
        let t = Instant::now();
        let ok_api = api();
        let a = t.elapsed().as_nanos() as f64;
        assert!(ok_base, "baseline result is wrong");
        assert!(ok_api, "vm-memory result is wrong");
        if round >= warmup {
            base_ns.push(b);
            api_ns.push(a);
        }
    }
    (median(&mut base_ns), median(&mut api_ns))
}

/// Overwrites the first and last u64 of a bulk-read buffer, so that the check after a run shows
/// that the run itself filled it.
fn spoil(b: &mut [u8]) {
    let n = b.len();
    b[..8].fill(0xff);
    b[n - 8..].fill(0xff);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

struct Outcome {
    ops: usize,
    base: &'static str,
    base_ns: f64,
    api_ns: f64,
}

fn run(ram: &Ram, mode: Mode, size: usize, a: &Args) -> Outcome {
    let gm = &ram.memory;
    let passes = a.passes;
    match mode {
        Mode::HotRead | Mode::ColdRead | Mode::HotWrite => {
            let offs = offsets(if mode == Mode::ColdRead { COLD_MASK } else { HOT_MASK });
            let ptrs: Vec<*mut u64> = offs.iter().map(|&o| ram.host(o) as *mut u64).collect();
            let expected = offs.iter().fold(0u64, |s, &o| s.wrapping_add(o)).wrapping_mul(passes as u64);
            let ops = passes * ACCESSES;
            let (base_ns, api_ns) = if mode == Mode::HotWrite {
                let r = measure(
                    a.warmup,
                    a.runs,
                    || {
                        for _ in 0..passes {
                            for (&p, &o) in ptrs.iter().zip(offs.iter()) {
                                // SAFETY: p points at guest address o in its host mapping.
                                unsafe { write_volatile(p, o) };
                            }
                        }
                        true
                    },
                    || {
                        let mut errors = 0u64;
                        for _ in 0..passes {
                            for &o in offs.iter() {
                                if gm.write_obj::<u64>(o, GuestAddress(o)).is_err() {
                                    errors += 1;
                                }
                            }
                        }
                        errors == 0
                    },
                );
                for (&p, &o) in ptrs.iter().zip(offs.iter()) {
                    // SAFETY: as above.
                    assert_eq!(unsafe { read_volatile(p) }, o, "memory lost its pattern at 0x{o:x}");
                }
                r
            } else {
                measure(
                    a.warmup,
                    a.runs,
                    || {
                        let mut sum = 0u64;
                        for _ in 0..passes {
                            for &p in ptrs.iter() {
                                // SAFETY: p points into a live host mapping, 8-byte aligned.
                                sum = sum.wrapping_add(unsafe { read_volatile(p) });
                            }
                        }
                        escape(&sum) == expected
                    },
                    || {
                        let mut sum = 0u64;
                        let mut errors = 0u64;
                        for _ in 0..passes {
                            for &o in offs.iter() {
                                match gm.read_obj::<u64>(GuestAddress(o)) {
                                    Ok(v) => sum = sum.wrapping_add(v),
                                    Err(_) => errors += 1,
                                }
                            }
                        }
                        escape(&sum) == expected && errors == 0
                    },
                )
            };
            Outcome { ops, base: "raw-pointer", base_ns, api_ns }
        }
        Mode::BulkRead | Mode::BulkWrite => {
            let ops = passes * ((1usize << 20) / size).max(1);
            let pieces = ram.pieces(BULK_ADDR, size);
            let mut buf = vec![0u8; size];
            let pattern = |buf: &[u8], at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
            let (base_ns, api_ns) = if mode == Mode::BulkRead {
                let buf = std::cell::RefCell::new(buf);
                let check = |b: &[u8]| pattern(b, 0) == BULK_ADDR && pattern(b, size - 8) == BULK_ADDR + size as u64 - 8;
                measure(
                    a.warmup,
                    a.runs,
                    || {
                        let mut b = buf.borrow_mut();
                        spoil(&mut b);
                        for _ in 0..ops {
                            let mut d = b.as_mut_ptr();
                            for &(p, n) in pieces.iter() {
                                // SAFETY: p..p+n is inside a host mapping; d..d+n inside buf.
                                unsafe {
                                    copy_nonoverlapping(p, d, n);
                                    d = d.add(n);
                                }
                            }
                            escape(b.as_ptr());
                        }
                        check(&b)
                    },
                    || {
                        let mut b = buf.borrow_mut();
                        spoil(&mut b);
                        let mut errors = 0u64;
                        for _ in 0..ops {
                            if gm.read_slice(&mut b, GuestAddress(BULK_ADDR)).is_err() {
                                errors += 1;
                            }
                            escape(b.as_ptr());
                        }
                        errors == 0 && check(&b)
                    },
                )
            } else {
                for j in (0..size).step_by(8) {
                    buf[j..j + 8].copy_from_slice(&(BULK_ADDR + j as u64).to_le_bytes());
                }
                let r = measure(
                    a.warmup,
                    a.runs,
                    || {
                        for _ in 0..ops {
                            let mut s = buf.as_ptr();
                            for &(p, n) in pieces.iter() {
                                // SAFETY: as above, the other way.
                                unsafe {
                                    copy_nonoverlapping(s, p, n);
                                    s = s.add(n);
                                }
                            }
                            escape(buf.as_ptr());
                        }
                        true
                    },
                    || {
                        let mut errors = 0u64;
                        for _ in 0..ops {
                            if gm.write_slice(&buf, GuestAddress(BULK_ADDR)).is_err() {
                                errors += 1;
                            }
                            escape(buf.as_ptr());
                        }
                        errors == 0
                    },
                );
                for j in (0..size as u64).step_by(8) {
                    let g = BULK_ADDR + j;
                    // SAFETY: inside the RAM.
                    assert_eq!(unsafe { read_volatile(ram.host(g) as *const u64) }, g, "memory lost its pattern at 0x{g:x}");
                }
                r
            };
            Outcome { ops, base: "memcpy", base_ns, api_ns }
        }
    }
}

/// Which page size the RAM got: the /proc/self/smaps entries of the mappings holding it.
fn page_report(ram: &Ram) -> String {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    struct Vma {
        start: u64,
        end: u64,
        huge_kb: u64,
        kernel_page_kb: u64,
    }
    let mut vmas: Vec<Vma> = Vec::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((s, e)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16)) {
                vmas.push(Vma { start, end, huge_kb: 0, kernel_page_kb: 0 });
                continue;
            }
        }
        let mut words = line.split_whitespace();
        let (key, value, last) = match (words.next(), words.next(), vmas.last_mut()) {
            (Some(k), Some(v), Some(l)) => (k, v.parse::<u64>().unwrap_or(0), l),
            _ => continue,
        };
        match key {
            "AnonHugePages:" => last.huge_kb = value,
            "KernelPageSize:" => last.kernel_page_kb = value,
            _ => {}
        }
    }
    let mut used: Vec<usize> = Vec::new();
    for &h in ram.hosts.iter() {
        let (lo, hi) = (h as u64, h as u64 + ram.each);
        for (i, v) in vmas.iter().enumerate() {
            if v.start < hi && lo < v.end && !used.contains(&i) {
                used.push(i);
            }
        }
    }
    format_page(
        used.iter().map(|&i| vmas[i].huge_kb).sum(),
        used.iter().map(|&i| vmas[i].kernel_page_kb).max().unwrap_or(0),
        used.len(),
    )
}

fn format_page(huge_kb: u64, kernel_page_kb: u64, vmas: usize) -> String {
    let ram_kb = RAM_BYTES >> 10;
    let thp_pct = (huge_kb.min(ram_kb) * 100) / ram_kb;
    let page = if kernel_page_kb > 4 {
        format!("{kernel_page_kb}k-hugetlb")
    } else if thp_pct >= 90 {
        "2M-thp".to_string()
    } else if thp_pct == 0 {
        "4k".to_string()
    } else {
        "4k+2M-thp".to_string()
    };
    format!("page={page} thp_pct={thp_pct} kernel_page_kb={kernel_page_kb} ram_vmas={vmas}")
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let ram = create_ram(args.regions, args.thp);
    for &(mode, size) in args.modes.iter() {
        let o = run(&ram, mode, size, &args);
        let base_ns = o.base_ns / o.ops as f64;
        let api_ns = o.api_ns / o.ops as f64;
        let speed = if o.base == "memcpy" { format!(" speed_vs_memcpy={:.3}", base_ns / api_ns) } else { String::new() };
        println!(
            "workload impl=vm-memory mode={} regions={} size={} passes={} ops={} runs={} api_ns={:.3} base={} base_ns={:.3} api_over_base={:.3}{} {} check=ok",
            mode.name(),
            args.regions,
            size,
            args.passes,
            o.ops,
            args.runs,
            api_ns,
            o.base,
            base_ns,
            api_ns / base_ns,
            speed,
            page_report(&ram),
        );
    }
}
