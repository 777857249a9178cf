//! Links libseccomp, found with pkg-config. Without it the reference cannot exist, so the
//! build stops and says how to get it (scripts/deps.sh installs it).
fn main() {
    if let Err(e) = pkg_config::Config::new()
        .atleast_version("2.5.0")
        .probe("libseccomp")
    {
        panic!(
            "seccomp-ref needs libseccomp >= 2.5 with its pkg-config file \
             (Debian: apt-get install libseccomp-dev pkg-config, as scripts/deps.sh does): {e}"
        );
    }
}
