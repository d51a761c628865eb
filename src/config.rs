//! Configuration from command-line flags, the environment (`CLIENTELE_*`, `DATABASE_URL`) and
//! an optional TOML file, in that order of precedence, validated once at start. A bad value
//! stops the process with one line naming the setting.

use clientele_api::SchemaLimits;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One setting: its file key, its environment variable, default and meaning.
pub struct Spec {
    pub key: &'static str,
    pub env: &'static str,
    pub default: &'static str,
    pub help: &'static str,
    /// Secret values are never echoed in errors.
    pub secret: bool,
}

const fn spec(
    key: &'static str,
    env: &'static str,
    default: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        key,
        env,
        default,
        help,
        secret: false,
    }
}

/// Every setting Clientele reads. The README's configuration table lists the same.
pub const SPECS: &[Spec] = &[
    spec(
        "config",
        "CLIENTELE_CONFIG",
        "",
        "path of a TOML file with any of these settings (keys as in this column)",
    ),
    spec(
        "bind",
        "CLIENTELE_BIND",
        "127.0.0.1:8080",
        "address the HTTP server listens on (`--bind`)",
    ),
    spec(
        "database_url",
        "DATABASE_URL",
        "sqlite://clientele.db",
        "`sqlite://FILE` or `postgres://USER@HOST/DB` (`--database-url`); the SQLite file is created if missing",
    ),
    spec(
        "db_max_connections",
        "CLIENTELE_DB_MAX_CONNECTIONS",
        "10",
        "size of the database connection pool",
    ),
    Spec {
        key: "jwt_secret",
        env: "CLIENTELE_JWT_SECRET",
        default: "",
        help: "HS256 signing secret (at least 32 bytes); when unset one is generated on first start and kept in the database",
        secret: true,
    },
    spec(
        "jwt_public_key_file",
        "CLIENTELE_JWT_PUBLIC_KEY_FILE",
        "",
        "PEM RSA public key: verify RS256 tokens instead of HS256",
    ),
    spec(
        "jwt_private_key_file",
        "CLIENTELE_JWT_PRIVATE_KEY_FILE",
        "",
        "PEM RSA private key, to mint RS256 tokens (`clientele token`)",
    ),
    spec(
        "token_ttl",
        "CLIENTELE_TOKEN_TTL",
        "30d",
        "lifetime of minted tokens (`30d`, `12h`, `15m`)",
    ),
    spec(
        "graphiql",
        "CLIENTELE_GRAPHIQL",
        "true",
        "serve GraphiQL on GET /graphql",
    ),
    spec(
        "introspection",
        "CLIENTELE_INTROSPECTION",
        "true",
        "answer GraphQL introspection queries",
    ),
    spec(
        "max_depth",
        "CLIENTELE_MAX_DEPTH",
        "12",
        "deepest selection nesting a query may use",
    ),
    spec(
        "max_complexity",
        "CLIENTELE_MAX_COMPLEXITY",
        "5000",
        "query cost ceiling; a list field costs its `first`/`last` times its selection",
    ),
    spec(
        "max_aliases",
        "CLIENTELE_MAX_ALIASES",
        "30",
        "aliased fields a query may use",
    ),
    spec(
        "max_body_bytes",
        "CLIENTELE_MAX_BODY_BYTES",
        "1048576",
        "largest request body (and WebSocket message) accepted",
    ),
    spec(
        "max_upload_bytes",
        "CLIENTELE_MAX_UPLOAD_BYTES",
        "104857600",
        "largest file upload (a multipart request such as a CSV import)",
    ),
    spec(
        "query_timeout",
        "CLIENTELE_QUERY_TIMEOUT",
        "10s",
        "execution time limit of one query or mutation",
    ),
    spec(
        "subscriber_buffer",
        "CLIENTELE_SUBSCRIBER_BUFFER",
        "256",
        "events a subscriber may fall behind before it is told and dropped",
    ),
    spec(
        "log_format",
        "CLIENTELE_LOG_FORMAT",
        "text",
        "`text` (human-readable) or `json`",
    ),
    spec(
        "log",
        "CLIENTELE_LOG",
        "info,sqlx=warn,sea_orm=warn",
        "log filter (tracing EnvFilter syntax)",
    ),
    spec(
        "demo_tenant",
        "CLIENTELE_DEMO_TENANT",
        "true",
        "on first start (no tenants yet), create tenant `demo` and print an admin token",
    ),
    spec(
        "workers",
        "CLIENTELE_WORKERS",
        "true",
        "run background-job workers inside `clientele serve` (off: run `clientele worker` beside it)",
    ),
    spec(
        "worker_concurrency",
        "CLIENTELE_WORKER_CONCURRENCY",
        "4",
        "jobs one worker process runs at once",
    ),
    spec(
        "jobs_database_url",
        "CLIENTELE_JOBS_DATABASE_URL",
        "",
        "where jobs are stored; empty: the main database (SQLite file or PostgreSQL schema `apalis`)",
    ),
    Spec {
        key: "crm_key",
        env: "CLIENTELE_CRM_KEY",
        default: "",
        help: "base64 AES-256 key sealing CRM secrets and tokens (`openssl rand -base64 32`); when unset one is generated on first use and kept in the database",
        secret: true,
    },
    spec(
        "public_url",
        "CLIENTELE_PUBLIC_URL",
        "",
        "URL browsers reach this server at; CRM consent redirects to `{public_url}/oauth/callback` (default `http://{bind}`)",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How tokens are signed and verified.
#[derive(Clone, Debug)]
pub enum JwtConfig {
    /// HS256; `None` means "use the secret stored in the database, creating it on first start".
    Hs256 { secret: Option<String> },
    Rs256 {
        public_key: PathBuf,
        private_key: Option<PathBuf>,
    },
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub db_max_connections: u32,
    pub jwt: JwtConfig,
    pub token_ttl: Duration,
    pub graphiql: bool,
    pub limits: SchemaLimits,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub subscriber_buffer: usize,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub demo_tenant: bool,
    pub workers: WorkersConfig,
    pub crm: CrmConfig,
    pub webhooks: WebhooksConfig,
}

/// Outbound webhooks (not settings: the defaults retry for more than 24 hours; tests
/// shorten the delays).
#[derive(Clone, Debug)]
pub struct WebhooksConfig {
    /// Retry schedule and timeout of deliveries.
    pub delivery: clientele_domain::notifications::WebhookSettings,
    /// How often the workers' relay announces new notifications and hands due deliveries to
    /// jobs.
    pub relay_every: Duration,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            delivery: Default::default(),
            relay_every: Duration::from_secs(1),
        }
    }
}

/// CRM connections.
#[derive(Clone, Debug)]
pub struct CrmConfig {
    /// Base64 AES-256 key; `None`: generated once and kept in the database.
    pub key: Option<String>,
    /// Where providers send the admin back after consent.
    pub redirect_uri: String,
    /// Timeouts and retries of CRM calls (not a setting: tests and benchmarks against local
    /// fakes shorten them).
    pub http: clientele_connectors::HttpPolicy,
}

/// Background jobs: where they are stored and whether this process runs them.
#[derive(Clone, Debug)]
pub struct WorkersConfig {
    /// `clientele serve` runs workers too.
    pub enabled: bool,
    pub concurrency: usize,
    /// The job store's database; the main database when `None`.
    pub database_url: Option<String>,
    /// How often scheduled CRM syncs are checked (not a setting: schedules have minute
    /// resolution in practice; tests shorten it).
    pub cron_tick: Duration,
}

/// A setting that cannot be used; the message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Where raw values come from.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Values given as command-line flags, by key.
    pub flags: HashMap<String, String>,
    /// The process environment (or a test's stand-in).
    pub env: HashMap<String, String>,
}

impl Sources {
    pub fn from_process(flags: HashMap<String, String>) -> Self {
        Sources {
            flags,
            env: std::env::vars().collect(),
        }
    }
}

struct Raw {
    value: String,
    origin: String,
    secret: bool,
}

struct Reader {
    flags: HashMap<String, String>,
    env: HashMap<String, String>,
    file: HashMap<String, String>,
    file_name: String,
}

impl Reader {
    fn get(&self, key: &str) -> Raw {
        let spec = SPECS
            .iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("setting {key} is not in SPECS"));
        let (value, origin) = if let Some(v) = self.flags.get(key) {
            (v.clone(), format!("--{}", key.replace('_', "-")))
        } else if let Some(v) = self.env.get(spec.env) {
            (v.clone(), spec.env.to_string())
        } else if let Some(v) = self.file.get(key) {
            (v.clone(), format!("{key} in {}", self.file_name))
        } else {
            (spec.default.to_string(), format!("{} (default)", spec.env))
        };
        Raw {
            value: value.trim().to_string(),
            origin,
            secret: spec.secret,
        }
    }
}

impl Raw {
    fn fail(&self, problem: impl fmt::Display) -> ConfigError {
        if self.secret {
            ConfigError(format!("invalid setting {}: {problem}", self.origin))
        } else {
            ConfigError(format!(
                "invalid setting {}={:?}: {problem}",
                self.origin, self.value
            ))
        }
    }

    fn optional(&self) -> Option<&str> {
        (!self.value.is_empty()).then_some(self.value.as_str())
    }

    fn number<T: std::str::FromStr + PartialOrd + fmt::Display>(
        &self,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        let n: T = self
            .value
            .replace('_', "")
            .parse()
            .map_err(|_| self.fail("expected a whole number"))?;
        if n < min || n > max {
            return Err(self.fail(format!("must be between {min} and {max}")));
        }
        Ok(n)
    }

    fn boolean(&self) -> Result<bool, ConfigError> {
        match self.value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(self.fail("expected true or false")),
        }
    }

    fn duration(&self, min: Duration, max: Duration) -> Result<Duration, ConfigError> {
        let d = humantime::parse_duration(&self.value)
            .map_err(|_| self.fail("expected a duration such as 10s, 15m, 12h or 30d"))?;
        if d < min || d > max {
            return Err(self.fail(format!(
                "must be between {} and {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            )));
        }
        Ok(d)
    }

    fn file(&self) -> Result<Option<PathBuf>, ConfigError> {
        match self.optional() {
            None => Ok(None),
            Some(p) => {
                let path = PathBuf::from(p);
                if path.is_file() {
                    Ok(Some(path))
                } else {
                    Err(self.fail("no such file"))
                }
            }
        }
    }
}

fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "invalid setting CLIENTELE_CONFIG: cannot read {shown}: {e}"
        ))
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError(format!(
            "invalid configuration file {shown}: {}",
            e.message()
        ))
    })?;
    let mut values = HashMap::new();
    for (key, value) in table {
        if key == "config" || !SPECS.iter().any(|s| s.key == key) {
            return Err(ConfigError(format!(
                "invalid configuration file {shown}: unknown setting `{key}`"
            )));
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError(format!(
                    "invalid setting {key} in {shown}: expected a string, number or boolean, got {}",
                    other.type_str()
                )));
            }
        };
        values.insert(key, value);
    }
    Ok(values)
}

impl Config {
    /// Reads and validates every setting.
    pub fn load(sources: Sources) -> Result<Config, ConfigError> {
        if let Some(unknown) = sources
            .env
            .keys()
            .find(|k| k.starts_with("CLIENTELE_") && !SPECS.iter().any(|s| s.env == k.as_str()))
        {
            return Err(ConfigError(format!(
                "invalid setting {unknown}: unknown setting (see the configuration table in the README)"
            )));
        }
        let mut reader = Reader {
            flags: sources.flags,
            env: sources.env,
            file: HashMap::new(),
            file_name: String::new(),
        };
        if let Some(path) = reader.get("config").file()? {
            reader.file = read_file(&path)?;
            reader.file_name = path.display().to_string();
        }
        let get = |key: &str| reader.get(key);

        let bind = get("bind");
        let bind: SocketAddr = bind
            .value
            .parse()
            .map_err(|_| bind.fail("expected an address such as 127.0.0.1:8080"))?;

        let database = get("database_url");
        let database_url = database.value.clone();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(database.fail("expected sqlite://FILE or postgres://USER@HOST/DB"));
        }

        let jwt = match get("jwt_public_key_file").file()? {
            Some(public_key) => JwtConfig::Rs256 {
                public_key,
                private_key: get("jwt_private_key_file").file()?,
            },
            None => {
                let secret = get("jwt_secret");
                if let Some(s) = secret.optional()
                    && s.len() < 32
                {
                    return Err(secret.fail("must be at least 32 bytes long"));
                }
                JwtConfig::Hs256 {
                    secret: secret.optional().map(str::to_string),
                }
            }
        };

        let log_format = get("log_format");
        let log_format = match log_format.value.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(log_format.fail("expected text or json")),
        };
        let log = get("log");
        tracing_subscriber::EnvFilter::try_new(&log.value)
            .map_err(|e| log.fail(format!("not a log filter ({e})")))?;

        Ok(Config {
            bind,
            database_url,
            db_max_connections: get("db_max_connections").number(1, 1000)?,
            jwt,
            token_ttl: get("token_ttl")
                .duration(Duration::from_secs(60), Duration::from_secs(366 * 86_400))?,
            graphiql: get("graphiql").boolean()?,
            limits: SchemaLimits {
                max_depth: get("max_depth").number(2, 100)?,
                max_complexity: get("max_complexity").number(10, 1_000_000)?,
                max_aliases: get("max_aliases").number(0, 1000)?,
                timeout: get("query_timeout")
                    .duration(Duration::from_millis(10), Duration::from_secs(600))?,
                introspection: get("introspection").boolean()?,
            },
            max_body_bytes: get("max_body_bytes").number(1024, 1 << 30)?,
            max_upload_bytes: get("max_upload_bytes").number(1024, 4 << 30)?,
            subscriber_buffer: get("subscriber_buffer").number(1, 1 << 20)?,
            log_format,
            log_filter: log.value,
            demo_tenant: get("demo_tenant").boolean()?,
            workers: WorkersConfig {
                enabled: get("workers").boolean()?,
                concurrency: get("worker_concurrency").number(1, 256)?,
                cron_tick: Duration::from_secs(30),
                database_url: {
                    let raw = get("jobs_database_url");
                    match raw.optional() {
                        None => None,
                        Some(url)
                            if url.starts_with("sqlite:")
                                || url.starts_with("postgres://")
                                || url.starts_with("postgresql://") =>
                        {
                            Some(url.to_string())
                        }
                        Some(_) => {
                            return Err(
                                raw.fail("expected sqlite://FILE or postgres://USER@HOST/DB")
                            );
                        }
                    }
                },
            },
            crm: CrmConfig {
                key: {
                    let key = get("crm_key");
                    match key.optional() {
                        Some(k) => {
                            clientele_connectors::SecretBox::from_base64_key(k).map_err(|_| {
                                key.fail("expected 32 bytes in base64 (`openssl rand -base64 32`)")
                            })?;
                            Some(k.to_string())
                        }
                        None => None,
                    }
                },
                redirect_uri: {
                    let raw = get("public_url");
                    let base = match raw.optional() {
                        Some(url) => {
                            let parsed = url::Url::parse(url)
                                .map_err(|e| raw.fail(format!("not a URL ({e})")))?;
                            if !matches!(parsed.scheme(), "http" | "https") {
                                return Err(raw.fail("expected an http(s) URL"));
                            }
                            url.trim_end_matches('/').to_string()
                        }
                        None => format!("http://{bind}"),
                    };
                    format!("{base}/oauth/callback")
                },
                http: clientele_connectors::HttpPolicy::default(),
            },
            webhooks: WebhooksConfig::default(),
        })
    }

    /// Defaults, as if nothing was configured.
    pub fn defaults() -> Config {
        Config::load(Sources::default()).expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Sources {
        Sources {
            flags: HashMap::new(),
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        Config::load(env(pairs)).unwrap_err().0
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::defaults();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://clientele.db");
        assert!(c.graphiql && c.limits.introspection && c.demo_tenant);
        assert!(matches!(c.jwt, JwtConfig::Hs256 { secret: None }));
    }

    #[test]
    fn bad_values_name_the_setting() {
        assert!(error(&[("CLIENTELE_BIND", "nowhere")]).contains("CLIENTELE_BIND=\"nowhere\""));
        assert!(error(&[("CLIENTELE_MAX_DEPTH", "abc")]).contains("CLIENTELE_MAX_DEPTH"));
        assert!(error(&[("CLIENTELE_MAX_DEPTH", "1000")]).contains("between 2 and 100"));
        assert!(error(&[("CLIENTELE_GRAPHIQL", "maybe")]).contains("CLIENTELE_GRAPHIQL"));
        assert!(error(&[("CLIENTELE_QUERY_TIMEOUT", "soon")]).contains("CLIENTELE_QUERY_TIMEOUT"));
        assert!(error(&[("DATABASE_URL", "mysql://x")]).contains("DATABASE_URL"));
        assert!(error(&[("CLIENTELE_LOG_FORMAT", "xml")]).contains("CLIENTELE_LOG_FORMAT"));
        assert!(error(&[("CLIENTELE_BINDD", "x")]).contains("CLIENTELE_BINDD"));
        assert!(
            error(&[("CLIENTELE_JWT_PUBLIC_KEY_FILE", "/no/such.pem")]).contains("no such file")
        );
    }

    #[test]
    fn secrets_are_not_echoed() {
        let e = error(&[("CLIENTELE_JWT_SECRET", "tooshort-but-secret")]);
        assert!(e.contains("CLIENTELE_JWT_SECRET"));
        assert!(!e.contains("tooshort-but-secret"));
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clientele.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:7000\"\nmax_depth = 5\ngraphiql = false\n",
        )
        .unwrap();
        let mut sources = env(&[
            ("CLIENTELE_CONFIG", file.to_str().unwrap()),
            ("CLIENTELE_BIND", "127.0.0.1:7001"),
        ]);
        let c = Config::load(sources.clone()).unwrap();
        assert_eq!(c.bind.port(), 7001);
        assert_eq!(c.limits.max_depth, 5);
        assert!(!c.graphiql);
        sources.flags.insert("bind".into(), "127.0.0.1:7002".into());
        assert_eq!(Config::load(sources).unwrap().bind.port(), 7002);
    }

    #[test]
    fn file_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "max_depht = 5\n").unwrap();
        let e = error(&[("CLIENTELE_CONFIG", file.to_str().unwrap())]);
        assert!(e.contains("max_depht"), "{e}");
        std::fs::write(&file, "max_depth = \"deep\"\n").unwrap();
        let e = error(&[("CLIENTELE_CONFIG", file.to_str().unwrap())]);
        assert!(e.contains("max_depth in"), "{e}");
    }

    #[test]
    fn every_spec_has_a_unique_key_and_variable() {
        for (i, a) in SPECS.iter().enumerate() {
            for b in &SPECS[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.env, b.env);
            }
        }
    }
}
