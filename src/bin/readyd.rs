//! The `readyd` command: plays a supervisor (`readyd run`) and speaks to one from shell
//! scripts (`readyd notify`). Being written; see issue 5.

fn main() {
    eprintln!("readyd: usage: readyd run [OPTIONS] -- CMD [ARGS...] | readyd notify [OPTIONS]");
    std::process::exit(2);
}
