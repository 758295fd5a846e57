//! A server process of a test's own, on a free port: started, killed, stopped and
//! resumed by the test, so faults disturb no other test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process of our own on a free port.
pub struct Server {
    program: String,
    args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
    /// The working directory the server writes into (a replica's `dump.rdb`), removed
    /// after the process is killed: fields drop after `Drop::drop`.
    dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts `program` with `args(port)` on a free port, and returns once that port is
    /// the program's own.
    ///
    /// A port is free when picked, but another process (a parallel test's server, an
    /// outgoing connection) can take it before the program binds it: the program then
    /// exits, and something else answers on the port. So the server counts as started
    /// only when a listening socket on the port belongs to it, and one that exited is
    /// started again on another port.
    pub fn new(program: String, args: impl Fn(u16) -> Vec<String>) -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut server = Self {
                program: program.clone(),
                args: args(port),
                port,
                child: None,
                dir: None,
            };
            match server.launch() {
                Ok(()) => return server,
                Err(why) => last = why,
            }
        }
        panic!("{program} did not start on any of five ports: {last}");
    }

    /// A redis-server (or valkey-server) of its own: bound to 127.0.0.1, nothing saved to
    /// disk unless it must (a replica's full sync writes `dump.rdb`, into a directory of
    /// the server's own, never the test's working directory), then `extra` arguments
    /// (a later `--dir` wins).
    #[allow(dead_code)]
    pub fn redis(program: String, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let path = dir.path().to_str().expect("a UTF-8 path").to_owned();
        extra.splice(0..0, ["--dir".to_owned(), path]);
        let mut server = Self::new(program, move |port| {
            let mut args: Vec<String> = [
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .map(str::to_owned)
            .to_vec();
            args.extend(extra.iter().cloned());
            args
        });
        server.dir = Some(dir);
        server
    }

    /// A memcached of its own: bound to 127.0.0.1, no UDP, then `extra` arguments.
    #[allow(dead_code)]
    pub fn memcached(program: String, extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        Self::new(program, move |port| {
            let mut args = Self::memcached_args(port);
            args.extend(extra.iter().cloned());
            args
        })
    }

    /// The arguments of [`memcached`](Self::memcached) on `port`, before its extra ones.
    #[allow(dead_code)]
    pub fn memcached_args(port: u16) -> Vec<String> {
        [
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-u",
            "root",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The URL of a memcached started by [`memcached`](Self::memcached).
    #[allow(dead_code)]
    pub fn memcached_url(&self) -> String {
        format!("memcached://127.0.0.1:{}", self.port)
    }

    /// The URL of a redis-server started by [`redis`](Self::redis).
    #[allow(dead_code)]
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A MongoDB-wire server of its own (SecantusDB) keeping its data in `storage`, then
    /// `extra` arguments.
    #[allow(dead_code)]
    pub fn mongo(program: String, storage: &std::path::Path, extra: &[&str]) -> Self {
        let storage = storage.to_str().expect("a UTF-8 path").to_owned();
        let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        Self::new(program, move |port| {
            let mut args: Vec<String> = [
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
                &storage,
            ]
            .map(str::to_owned)
            .to_vec();
            args.extend(extra.iter().cloned());
            args
        })
    }

    /// The URL of a server started by [`mongo`](Self::mongo), with `options` (`&`-joined,
    /// or empty).
    #[allow(dead_code)]
    pub fn mongo_url(&self, options: &str) -> String {
        let sep = if options.is_empty() { "" } else { "&" };
        format!(
            "mongodb://127.0.0.1:{}/?directConnection=true{sep}{options}",
            self.port
        )
    }

    /// An nginx of its own, in the foreground, with its files under `dir` and the
    /// `server` blocks `servers(port)` gives (listening on that port).
    #[allow(dead_code)]
    pub fn nginx(program: String, dir: &std::path::Path, servers: impl Fn(u16) -> String) -> Self {
        let dir = dir.to_str().expect("a UTF-8 path").to_owned();
        Self::new(program, move |port| {
            let config = format!(
                "daemon off;\nmaster_process off;\npid {dir}/nginx.pid;\n\
                 error_log {dir}/error.log;\nevents {{ worker_connections 256; }}\n\
                 http {{\n access_log off;\n client_body_temp_path {dir}/body;\n\
                 proxy_temp_path {dir}/proxy;\n fastcgi_temp_path {dir}/fastcgi;\n\
                 uwsgi_temp_path {dir}/uwsgi;\n scgi_temp_path {dir}/scgi;\n{}\n}}\n",
                servers(port)
            );
            let path = format!("{dir}/nginx.conf");
            std::fs::write(&path, config).expect("the config is written");
            ["-p", &dir, "-c", &path, "-e", &format!("{dir}/error.log")]
                .map(str::to_owned)
                .to_vec()
        })
    }

    /// Starts the server again on its port (after [`kill`](Self::kill)) and waits until
    /// it listens there.
    #[allow(dead_code)]
    pub fn start(&mut self) {
        if let Err(why) = self.launch() {
            panic!("{why}");
        }
    }

    /// Spawns the program and waits until a socket listening on the port is its own;
    /// an error if it exits first (its port taken).
    fn launch(&mut self) -> Result<(), String> {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program));
        let pid = child.id();
        let child = self.child.insert(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !listens(pid, self.port) {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!(
                    "{} exited ({status}) before listening on port {}",
                    self.program, self.port
                ));
            }
            assert!(Instant::now() < deadline, "{} did not start", self.program);
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGKILL: no chance to say goodbye to clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Server {
    /// SIGSTOP: the process stays, its sockets stay open, and nothing answers.
    ///
    /// Returns only once every thread of the process is stopped. `kill` returns when
    /// the signal is pending, and the kernel wakes one thread to begin the group stop:
    /// until that thread is scheduled (late, on a busy machine), another thread woken
    /// by a request can still answer it — a stall test would see a call succeed
    /// against a "stopped" server (seen once in CI, on the Python MongoDB server).
    #[allow(dead_code)]
    pub fn stop(&self) {
        self.signal("-STOP");
        let pid = self.child.as_ref().expect("the server runs").id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all_threads_stopped(pid) {
            assert!(Instant::now() < deadline, "{} did not stop", self.program);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGCONT: it answers again, with everything it kept.
    #[allow(dead_code)]
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server runs");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }
}

/// Whether every thread of process `pid` is in the stopped state (`T` in
/// `/proc/<pid>/task/<tid>/stat`).
#[allow(dead_code)]
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            // `pid (comm) state ...`: the state follows the last `)`.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                == Some("T")
        })
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A stopped process ignores SIGKILL's wait until it is resumed.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
    }
}

/// Whether a socket listening on `port` (IPv4 or IPv6) is open in process `pid` or one
/// of its descendants.
fn listens(pid: u32, port: u16) -> bool {
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    // `sl local_address rem_address st ... uid timeout inode`
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields.get(1)?.rsplit_once(':')?.1;
                    let ours = u16::from_str_radix(local_port, 16).ok()? == port
                        && *fields.get(3)? == "0A";
                    let inode = fields.get(9)?;
                    ours.then(|| format!("socket:[{inode}]"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    !listening.is_empty()
        && family(pid).into_iter().any(|p| {
            std::fs::read_dir(format!("/proc/{p}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|link| listening.iter().any(|l| link.as_os_str() == l.as_str()))
                })
            })
        })
}

/// `pid` and every process descended from it.
fn family(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let p: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: fields after the last `)`.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}
