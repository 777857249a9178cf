// The wasm32-wasip1 module the wasm handler tests run (tests/integration/tests/wasm.rs),
// built from this file by tests/integration/src/wasm.rs. args[1] names what it does.
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("hello");
    match mode {
        "hello" => {
            println!("hello from wasm");
            println!("args={}", args[1..].join(","));
            println!("GREETING={}", std::env::var("GREETING").unwrap_or_default());
            println!("cwd-file={}", std::fs::read_to_string("here.txt").map(|s| s.trim().to_string()).unwrap_or_else(|e| format!("error: {e}")));
            eprintln!("to stderr");
        }
        "files" => {
            std::fs::create_dir_all("/data/sub").unwrap();
            std::fs::write("/data/sub/out.txt", b"written by wasm\n").unwrap();
            let back = std::fs::read_to_string("/data/sub/out.txt").unwrap();
            println!("read-back={}", back.trim());
            println!("marker={}", std::fs::read_to_string("/etc/marker").unwrap().trim());
            let names: Vec<String> = std::fs::read_dir("/data/sub").unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            println!("listing={}", names.join(","));
            for p in ["/../outside.txt", "../outside.txt", "../../outside.txt", "/proc/self/root/outside.txt"] {
                match std::fs::read_to_string(p) {
                    Ok(s) => println!("escape {p}: READ {}", s.trim()),
                    Err(e) => println!("escape {p}: refused ({:?})", e.kind()),
                }
            }
            std::fs::remove_file("/data/sub/out.txt").unwrap();
            println!("removed={}", !std::path::Path::new("/data/sub/out.txt").exists());
        }
        "exit" => {
            let code: i32 = args[2].parse().unwrap();
            println!("exiting with {code}");
            std::process::exit(code);
        }
        "trap" => {
            let v: Vec<u32> = Vec::new();
            let i = args.len() + 7;
            println!("{}", v[i]);
        }
        "eat" => {
            let mut keep: Vec<Vec<u8>> = Vec::new();
            loop {
                keep.push(vec![1u8; 16 << 20]);
                println!("ate {} MiB", keep.len() * 16);
                std::io::stdout().flush().unwrap();
            }
        }
        "spin" => {
            println!("spinning");
            std::io::stdout().flush().unwrap();
            let mut x: u64 = 1;
            loop {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if x == 42 {
                    println!("never");
                }
            }
        }
        "clock" => {
            let t0 = std::time::Instant::now();
            std::thread::sleep(std::time::Duration::from_millis(50));
            let slept = t0.elapsed().as_millis();
            let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            // random_get, through std's hash map seeds: two differ.
            use std::hash::BuildHasher;
            let a = std::collections::hash_map::RandomState::new().hash_one(1u8);
            let b = std::collections::hash_map::RandomState::new().hash_one(1u8);
            println!("slept>=50={} wall>2020={} random={}", slept >= 50, wall > 1_577_836_800, a != b);
        }
        "compute" => {
            // A CPU-bound benchmark: primes below N by a sieve, repeated R times.
            let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
            let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
            let mut count = 0;
            for _ in 0..reps {
                let mut sieve = vec![true; n];
                count = 0;
                for i in 2..n {
                    if sieve[i] {
                        count += 1;
                        let mut j = i * i;
                        while j < n {
                            sieve[j] = false;
                            j += i;
                        }
                    }
                }
            }
            println!("primes below {n}: {count}");
        }
        "rss" => {
            // Peak RSS of this process (the runtime's process, whatever runs the module).
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: ?");
            println!("hello from wasm");
            println!("{hwm}");
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
