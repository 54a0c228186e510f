// include_dir embeds public/ at compile time, but cargo only rebuilds when a
// file it knows about changes; this makes adding or removing a file in
// public/ rebuild the binary too.
fn main() {
    println!("cargo:rerun-if-changed=public");
}
