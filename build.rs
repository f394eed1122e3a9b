//! Links `bootstrap` as a position-dependent executable on Linux.
//!
//! As a PIE, the binary spends half of its start-up applying ~24,000 relative relocations to the
//! AWS SDK's ~330 KB of pointer tables (some 190 extra page faults, ~0.5 ms, measured with
//! `perf stat`): a third of the time to the first Runtime API poll. Linked non-PIE, the linker
//! resolves them once. The cost is ASLR for the executable image itself (libraries, heap and
//! stack are still randomised); the code stays position-independent, so only the link changes.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=bootstrap=-no-pie");
    }
}
