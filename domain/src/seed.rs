//! Demo data: realistic, varied fake clients, inserted fast (for demos and benchmarks).
//!
//! Every generated field of client number `n` is a pure function of `n` (a small
//! deterministic generator, no randomness source), except the row ids, which are fresh
//! UUIDv7s carrying the client's creation time. Emails and phones are unique by
//! construction: emails carry the client's number, phones are a bijection of it over a set
//! of valid North American numbers. Seeding a tenant that already has clients continues the
//! numbering after them, so seeding twice adds new, still unique, clients.

use crate::clients::{self, TenantRules, fields};
use crate::entities::client::{self, BotStatus, ClientSource, PurchaseIntent, SaleStatus};
use crate::entities::client_identity::{self, IdentityKind};
use crate::entities::json::StringList;
use crate::entities::timeline_event::{self, ActorKind, TimelineKind};
use crate::{DomainResult, TenantId};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde_json::json;
use std::collections::HashSet;
use std::sync::OnceLock;
use uuid::Uuid;

/// Clients per INSERT statement: 41 columns x 500 rows stays well under SQLite's 32,766 bound
/// parameters (and PostgreSQL's 65,535).
const BATCH: usize = 500;
/// Statements per transaction.
const BATCHES_PER_TRANSACTION: usize = 10;

/// Inserts `count` fake clients into `tenant`, with their primary email and phone identities
/// and one `created` timeline event each. `progress` is called with the number inserted so
/// far after each transaction commits. Returns how many were inserted.
pub async fn demo_clients(
    db: &DatabaseConnection,
    tenant: TenantId,
    count: usize,
    mut progress: impl FnMut(usize),
) -> DomainResult<usize> {
    let rules = clients::rules_for(db, tenant).await?;
    // Continue the numbering after the tenant's existing clients (a second seed stays unique).
    let start = client::Entity::scoped(tenant).count(db).await?;
    let faker = Faker::new(tenant, &rules, Utc::now());
    // Emails and phones the tenant's clients already have (typed in by hand, say): a
    // generated one equal to one of them is left out rather than duplicated, as identities
    // are unique per tenant. Read once: a query per batch costs more than the inserts.
    let taken: HashSet<String> = client_identity::Entity::scoped(tenant)
        .select_only()
        .column(client_identity::Column::Value)
        .filter(client_identity::Column::Platform.eq(""))
        .filter(client_identity::Column::Kind.is_in([IdentityKind::Email, IdentityKind::Phone]))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut done = 0;
    while done < count {
        let chunk = (count - done).min(BATCH * BATCHES_PER_TRANSACTION);
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        let mut inserted = 0;
        while inserted < chunk {
            let n = (chunk - inserted).min(BATCH);
            let first = start + (done + inserted) as u64;
            let rows: Vec<client::Model> =
                (first..first + n as u64).map(|i| faker.client(i)).collect();
            insert_batch(&txn, tenant, rows, &taken).await?;
            inserted += n;
        }
        txn.commit().await?;
        done += chunk;
        progress(done);
    }
    Ok(done)
}

async fn insert_batch(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    mut rows: Vec<client::Model>,
    taken: &HashSet<String>,
) -> DomainResult<()> {
    let mut identities = Vec::with_capacity(rows.len() * 2);
    let mut events = Vec::with_capacity(rows.len());
    for row in &mut rows {
        if !taken.is_empty() {
            let mut changed = false;
            for value in [&mut row.email, &mut row.phone] {
                if value.as_ref().is_some_and(|v| taken.contains(v)) {
                    *value = None;
                    changed = true;
                }
            }
            if changed {
                fields::refresh_derived(row);
            }
        }
        for (kind, value) in [
            (IdentityKind::Email, &row.email),
            (IdentityKind::Phone, &row.phone),
        ] {
            if let Some(value) = value {
                identities.push(client_identity::ActiveModel {
                    id: Set(time_ordered_id(row.created_at)),
                    tenant_id: Set(tenant.0),
                    client_id: Set(row.id),
                    kind: Set(kind),
                    platform: Set(String::new()),
                    value: Set(value.clone()),
                    is_primary: Set(true),
                    verified: Set(false),
                    source: Set("import".into()),
                    created_at: Set(row.created_at),
                });
            }
        }
        events.push(timeline_event::ActiveModel {
            id: Set(time_ordered_id(row.created_at)),
            tenant_id: Set(tenant.0),
            client_id: Set(row.id),
            kind: Set(TimelineKind::Created),
            actor_kind: Set(ActorKind::System),
            actor_id: Set(None),
            actor_name: Set(Some("seed".into())),
            payload: Set(json!({ "source": "import", "seed": true })),
            occurred_at: Set(row.created_at),
        });
    }
    client::Entity::insert_many(rows.into_iter().map(|r| r.into_active_model().reset_all()))
        .exec_without_returning(db)
        .await?;
    // At most two identities per client: 1,000 rows x 10 columns.
    client_identity::Entity::insert_many(identities)
        .exec_without_returning(db)
        .await?;
    timeline_event::Entity::insert_many(events)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A UUIDv7 stamped with `at` (so ids sort like creation times), random otherwise.
fn time_ordered_id(at: DateTime<Utc>) -> Uuid {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        at.timestamp().max(0) as u64,
        at.timestamp_subsec_nanos(),
    );
    Uuid::new_v7(ts)
}

/// SplitMix64: a tiny, good-enough deterministic generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Sampling from a list with integer weights.
struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T> Weighted<T> {
    fn new(pairs: impl IntoIterator<Item = (T, u64)>) -> Weighted<T> {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0;
        for (item, weight) in pairs {
            total += weight.max(1);
            items.push(item);
            cumulative.push(total);
        }
        Weighted { items, cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> &T {
        let total = *self.cumulative.last().expect("a non-empty list");
        let x = rng.below(total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.items[i]
    }
}

/// Zipf-like weights: the list's first names are the most common (with 330 surnames, the
/// first, Smith, is about 1.2% of people).
fn zipf(names: &'static [&'static str]) -> Weighted<&'static str> {
    Weighted::new(
        names
            .iter()
            .enumerate()
            .map(|(k, name)| (*name, 1_000_000 / (k as u64 + 40))),
    )
}

/// Generates client number `n` of a tenant.
pub struct Faker {
    tenant: TenantId,
    rules: TenantRules,
    now: DateTime<Utc>,
    first_names: Weighted<&'static str>,
    last_names: Weighted<&'static str>,
    statuses: Weighted<String>,
}

/// How far back creation dates go.
const HISTORY_DAYS: i64 = 730;

impl Faker {
    pub fn new(tenant: TenantId, rules: &TenantRules, now: DateTime<Utc>) -> Faker {
        let statuses = Weighted::new(rules.statuses.iter().map(|s| {
            let weight = match s.as_str() {
                "new" => 25,
                "active" => 30,
                "qualified" => 15,
                "customer" => 20,
                "lost" => 10,
                _ => 15,
            };
            (s.clone(), weight)
        }));
        Faker {
            tenant,
            rules: rules.clone(),
            now,
            first_names: zipf(FIRST_NAMES),
            last_names: zipf(LAST_NAMES),
            statuses,
        }
    }

    /// Client number `n`: the same `n` always gives the same person (ids and derived columns
    /// aside), different numbers never share an email or phone.
    pub fn client(&self, n: u64) -> client::Model {
        let mut rng = Rng::new(n.wrapping_mul(0xD134_2543_DE82_EF95) ^ 0x5EED);
        let mut row = clients::blank(self.tenant, &self.rules, ClientSource::Import);

        let first = *self.first_names.sample(&mut rng);
        let last = *self.last_names.sample(&mut rng);
        // A few people are known by one name only.
        let (has_first, has_last) = match rng.below(100) {
            0..=1 => (true, false),
            2 => (false, true),
            _ => (true, true),
        };
        row.first_name = has_first.then(|| first.to_string());
        row.last_name = has_last.then(|| last.to_string());

        if rng.percent(35) {
            row.company = Some(rng.pick(COMPANIES).to_string());
        }
        if rng.percent(85) {
            row.email = Some(email(&mut rng, n, first, last, row.company.as_deref()));
        }
        if rng.percent(75) {
            row.phone = Some(phone(n));
        }
        if rng.percent(45) {
            let (city, state, country) = *rng.pick(CITIES);
            row.street = Some(format!("{} {}", 1 + rng.below(9_899), rng.pick(STREETS)));
            row.city = Some(city.into());
            row.state = Some(state.into());
            row.country = Some(country.into());
        }
        if rng.percent(20) {
            let age_days = 18 * 365 + rng.below(60 * 365) as i64;
            row.date_of_birth = Some(self.now.date_naive() - Duration::days(age_days));
        }
        if rng.percent(10) {
            row.external_id = Some(format!("CRM-{:06}", n + 1));
        }

        if !self.statuses.items.is_empty() {
            row.status = self.statuses.sample(&mut rng).clone();
        }
        row.purchase_intent = match rng.below(100) {
            0..=39 => None,
            40..=64 => Some(PurchaseIntent::Browsing),
            65..=84 => Some(PurchaseIntent::Comparing),
            _ => Some(PurchaseIntent::ReadyToBuy),
        };
        row.sale_status = match rng.below(100) {
            0..=69 => SaleStatus::None,
            70..=79 => SaleStatus::Pending,
            80..=87 => SaleStatus::Signed,
            _ => SaleStatus::Sold,
        };
        if !self.rules.funnel_stages.is_empty() && rng.percent(60) {
            row.funnel_stage = Some(rng.pick(&self.rules.funnel_stages).clone());
        }
        row.bot_status = match rng.below(100) {
            0..=89 => BotStatus::Active,
            90..=94 => BotStatus::Paused,
            _ => BotStatus::Agent,
        };
        row.interests = StringList(labels(&mut rng, INTERESTS, 3));
        row.traits = StringList(labels(&mut rng, TRAITS, 2));
        row.needs = StringList(labels(&mut rng, NEEDS, 1));
        if rng.percent(50) {
            row.sentiment = Some(rng.pick(&["positive", "neutral", "negative"]).to_string());
        }
        row.sensitive = rng.percent(1);
        row.mystery_shopper = rng.below(200) == 0;
        row.contractor = rng.percent(2);

        // Created over the past two years, a little more often recently.
        let span = HISTORY_DAYS * 86_400;
        let a = rng.below(span as u64) as i64;
        let b = rng.below(span as u64) as i64;
        let created = self.now - Duration::seconds(span - a.max(b));
        row.created_at = created;
        row.first_seen_at = Some(created);
        let last_active = rng.percent(70).then(|| {
            let since = (self.now - created).num_seconds().max(1) as u64;
            created + Duration::seconds(rng.below(since) as i64)
        });
        row.last_active_at = last_active;
        row.activity_at = Some(last_active.unwrap_or(created));
        row.updated_at = last_active.unwrap_or(created);
        row.id = time_ordered_id(created);
        fields::refresh_derived(&mut row);
        row
    }
}

fn labels(rng: &mut Rng, from: &[&str], max: u64) -> Vec<String> {
    let n = rng.below(max + 1);
    let mut out: Vec<String> = Vec::new();
    for _ in 0..n {
        let label = rng.pick(from).to_string();
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// A lower-case ASCII form of a name for an email's local part.
fn slug(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' => Some(c.to_ascii_lowercase()),
            'é' | 'è' | 'ê' | 'É' => Some('e'),
            'á' | 'à' | 'â' => Some('a'),
            'ç' => Some('c'),
            'ñ' => Some('n'),
            'ö' | 'ô' | 'ó' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'í' | 'ï' => Some('i'),
            _ => None,
        })
        .collect()
}

/// An email carrying the client's number, so no two clients share one. The local part is
/// letters (and dots or underscores) followed by the number, so different numbers always give
/// different addresses.
fn email(rng: &mut Rng, n: u64, first: &str, last: &str, company: Option<&str>) -> String {
    let (f, l) = (slug(first), slug(last));
    let number = n + 1;
    let local = match rng.below(5) {
        0 | 1 => format!("{f}.{l}{number}"),
        2 => format!("{}{l}{number}", &f[..1.min(f.len())]),
        3 => format!("{f}_{l}{number}"),
        _ => format!("{f}{number}"),
    };
    let domain = match company {
        Some(c) if rng.percent(60) => format!("{}.com", slug(c)),
        _ => rng.pick(EMAIL_DOMAINS).to_string(),
    };
    format!("{local}@{domain}")
}

/// Area codes in use in Canada and the United States.
const AREA_CODES: &[u16] = &[
    416, 647, 437, 905, 289, 365, 613, 343, 519, 226, 705, 514, 438, 450, 418, 604, 778, 236, 250,
    403, 587, 780, 825, 306, 204, 902, 506, 709, 212, 646, 718, 917, 347, 929, 201, 973, 215, 267,
    617, 857, 202, 301, 703, 404, 678, 312, 773, 872, 214, 469, 713, 832, 512, 210, 602, 480, 303,
    720, 206, 425, 503, 971, 415, 510, 408, 650, 310, 213, 323, 818, 626, 714, 949, 619, 858, 702,
    801, 612, 651, 314, 816, 313, 248, 216, 614, 412, 704, 919, 615, 901, 504, 305, 786, 407, 813,
];

/// Central-office codes 200-999, without N11 service codes, 555 and 950/958/959/976.
fn exchanges() -> &'static [u16] {
    static EXCHANGES: OnceLock<Vec<u16>> = OnceLock::new();
    EXCHANGES.get_or_init(|| {
        (200..1000)
            .filter(|e| e % 100 != 11 && ![555, 950, 958, 959, 976].contains(e))
            .collect()
    })
}

/// A valid North American number in E.164, a bijection of `n` (distinct numbers for every
/// `n` below the ~745 million the area codes and exchanges allow).
pub fn phone(n: u64) -> String {
    let exchanges = exchanges();
    let count = exchanges.len() as u64;
    let space = AREA_CODES.len() as u64 * count * 10_000;
    // An affine map modulo `space` with a prime step larger than it is a permutation.
    let p = (n % space)
        .wrapping_mul(1_000_000_007)
        .wrapping_add(12_345_678)
        % space;
    let line = p % 10_000;
    let rest = p / 10_000;
    let exchange = exchanges[(rest % count) as usize];
    let area = AREA_CODES[(rest / count) as usize];
    format!("+1{area}{exchange}{line:04}")
}

const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "proton.me",
    "rogers.com",
    "sympatico.ca",
    "shaw.ca",
    "aol.com",
    "live.ca",
    "me.com",
];

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "Michael",
    "Patricia",
    "John",
    "Jennifer",
    "Robert",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Karen",
    "Christopher",
    "Sarah",
    "Charles",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Sandra",
    "Anthony",
    "Betty",
    "Mark",
    "Ashley",
    "Donald",
    "Emily",
    "Steven",
    "Kimberly",
    "Andrew",
    "Margaret",
    "Paul",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "George",
    "Rebecca",
    "Jason",
    "Sharon",
    "Edward",
    "Laura",
    "Jeffrey",
    "Cynthia",
    "Ryan",
    "Dorothy",
    "Jacob",
    "Amy",
    "Nicholas",
    "Kathleen",
    "Gary",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Emma",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Nicole",
    "Scott",
    "Anna",
    "Brandon",
    "Samantha",
    "Benjamin",
    "Katherine",
    "Samuel",
    "Christine",
    "Gregory",
    "Debra",
    "Alexander",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Frank",
    "Janet",
    "Raymond",
    "Maria",
    "Jack",
    "Olivia",
    "Dennis",
    "Heather",
    "Jerry",
    "Helen",
    "Tyler",
    "Catherine",
    "Aaron",
    "Diane",
    "Jose",
    "Julie",
    "Adam",
    "Victoria",
    "Nathan",
    "Joyce",
    "Henry",
    "Lauren",
    "Zachary",
    "Kelly",
    "Douglas",
    "Christina",
    "Peter",
    "Ruth",
    "Kyle",
    "Joan",
    "Noah",
    "Virginia",
    "Ethan",
    "Judith",
    "Jeremy",
    "Evelyn",
    "Christian",
    "Hannah",
    "Walter",
    "Andrea",
    "Keith",
    "Megan",
    "Austin",
    "Cheryl",
    "Roger",
    "Jacqueline",
    "Terry",
    "Madison",
    "Sean",
    "Teresa",
    "Gerald",
    "Abigail",
    "Carl",
    "Sophia",
    "Dylan",
    "Martha",
    "Harold",
    "Sara",
    "Jordan",
    "Gloria",
    "Jesse",
    "Janice",
    "Bryan",
    "Kathryn",
    "Lawrence",
    "Ann",
    "Arthur",
    "Isabella",
    "Gabriel",
    "Judy",
    "Bruce",
    "Charlotte",
    "Logan",
    "Julia",
    "Billy",
    "Grace",
    "Joe",
    "Amber",
    "Alan",
    "Alice",
    "Juan",
    "Jean",
    "Elijah",
    "Denise",
    "Willie",
    "Frances",
    "Albert",
    "Danielle",
    "Wayne",
    "Marilyn",
    "Randy",
    "Natalie",
    "Mason",
    "Beverly",
    "Vincent",
    "Diana",
    "Liam",
    "Brittany",
    "Roy",
    "Theresa",
    "Bobby",
    "Kayla",
    "Caleb",
    "Alexis",
    "Bradley",
    "Doris",
    "Russell",
    "Lori",
    "Lucas",
    "Tiffany",
    "Mathieu",
    "Chloé",
    "Étienne",
    "Geneviève",
    "Luc",
    "Isabelle",
    "François",
    "Mélanie",
    "Pierre",
    "Nathalie",
    "Sébastien",
    "Josée",
    "Alejandro",
    "Sofía",
    "Carlos",
    "Valentina",
    "Diego",
    "Camila",
    "Luis",
    "Lucía",
    "Miguel",
    "Ximena",
    "Raj",
    "Priya",
    "Amit",
    "Anjali",
    "Arjun",
    "Smita",
    "Vikram",
    "Neha",
    "Rohan",
    "Pooja",
    "Sanjay",
    "Deepa",
    "Wei",
    "Mei",
    "Jun",
    "Li",
    "Hiroshi",
    "Yuki",
    "Min-jun",
    "Ji-woo",
    "Thanh",
    "Linh",
    "Mohammed",
    "Fatima",
    "Omar",
    "Aisha",
    "Ali",
    "Layla",
    "Yusuf",
    "Zainab",
    "Oluwaseun",
    "Amara",
    "Kwame",
    "Nia",
    "Sven",
    "Ingrid",
    "Lars",
    "Astrid",
    "Dmitri",
    "Olga",
    "Ivan",
    "Natasha",
    "Giovanni",
    "Giulia",
    "Marco",
    "Francesca",
    "Hans",
    "Greta",
    "Klaus",
    "Heidi",
    "Sione",
    "Leilani",
    "Smitty",
    "Mateo",
    "Aurora",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
    "Gibson",
    "Ellis",
    "Tran",
    "Medina",
    "Aguilar",
    "Stevens",
    "Murray",
    "Ford",
    "Castro",
    "Marshall",
    "Owens",
    "Harrison",
    "Fernandez",
    "McDonald",
    "Woods",
    "Washington",
    "Kennedy",
    "Wells",
    "Vargas",
    "Henry",
    "Chen",
    "Freeman",
    "Webb",
    "Tucker",
    "Guzman",
    "Burns",
    "Crawford",
    "Olson",
    "Simpson",
    "Porter",
    "Hunter",
    "Gordon",
    "Mendez",
    "Silva",
    "Shaw",
    "Snyder",
    "Mason",
    "Dixon",
    "Munoz",
    "Hunt",
    "Hicks",
    "Holmes",
    "Palmer",
    "Wagner",
    "Black",
    "Robertson",
    "Boyd",
    "Rose",
    "Stone",
    "Salazar",
    "Fox",
    "Warren",
    "Mills",
    "Meyer",
    "Rice",
    "Schmidt",
    "Garza",
    "Daniels",
    "Ferguson",
    "Nichols",
    "Stephens",
    "Soto",
    "Weaver",
    "Ryan",
    "Gardner",
    "Payne",
    "Grant",
    "Dunn",
    "Kelley",
    "Spencer",
    "Hawkins",
    "Arnold",
    "Pierce",
    "Vazquez",
    "Hansen",
    "Peters",
    "Santos",
    "Hart",
    "Bradley",
    "Knight",
    "Elliott",
    "Cunningham",
    "Duncan",
    "Armstrong",
    "Hudson",
    "Carroll",
    "Lane",
    "Riley",
    "Andrews",
    "Alvarado",
    "Ray",
    "Delgado",
    "Berry",
    "Perkins",
    "Hoffman",
    "Johnston",
    "Matthews",
    "Pena",
    "Richards",
    "Contreras",
    "Willis",
    "Carpenter",
    "Lawrence",
    "Sandoval",
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Singh",
    "Sharma",
    "Kumar",
    "Gupta",
    "Shah",
    "Mehta",
    "Desai",
    "Reddy",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Huang",
    "Wu",
    "Lin",
    "Wong",
    "Chan",
    "Park",
    "Choi",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Pham",
    "Le",
    "Khan",
    "Ahmed",
    "Hassan",
    "Hussein",
    "Ali",
    "Okafor",
    "Mensah",
    "Adeyemi",
    "Kowalski",
    "Nowak",
    "Novak",
    "Ivanov",
    "Petrov",
    "Müller",
    "Schneider",
    "Fischer",
    "Weber",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "O'Brien",
    "O'Connor",
    "MacDonald",
    "Campbell-Smith",
    "Smithers",
    "Smits",
    "Smiley",
    "Smithson",
    "Goldsmith",
    "Nesmith",
    "Smirnov",
    "Arrowsmith",
    "Smit",
    "Hammersmith",
    "Smithfield",
    "Blacksmith",
    "Kosmicki",
];

const COMPANIES: &[&str] = &[
    "Northwind Traders",
    "Maple Leaf Realty",
    "Blue Harbor Marine",
    "Summit Dental Group",
    "Pioneer Auto Sales",
    "Lakeside Physiotherapy",
    "Brightside Solar",
    "Oakridge Construction",
    "Granite Insurance",
    "Riverbend Veterinary",
    "Clearwater Plumbing",
    "Evergreen Landscaping",
    "Redwood Capital",
    "Silverline Logistics",
    "Harbourfront Yoga",
    "Cedar & Pine Interiors",
    "Metro Fitness",
    "Golden Gate Bakery",
    "Union Street Legal",
    "Prairie Grain Co",
    "Smile Bright Dentistry",
    "Goldsmith Jewellers",
    "Smithfield Hardware",
    "Acme Corporation",
    "Initech",
    "Globex",
    "Umbrella Health",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Vandelay Industries",
    "Dunder Mifflin",
    "Bluebird Travel",
    "Peak Performance Coaching",
    "Harvest Foods",
    "Lighthouse Accounting",
    "Ironclad Security",
    "Nimbus Software",
    "Copperleaf Cafe",
    "Urban Nest Properties",
    "Aurora Wellness",
    "Tidewater Boats",
    "Keystone Mortgage",
    "Sunrise Senior Living",
    "Polaris Consulting",
    "Fireside Furniture",
    "Westend Motors",
    "Bayview Optometry",
    "Trillium Tutoring",
    "Hillcrest Homes",
];

const CITIES: &[(&str, &str, &str)] = &[
    ("Toronto", "ON", "Canada"),
    ("Mississauga", "ON", "Canada"),
    ("Ottawa", "ON", "Canada"),
    ("Hamilton", "ON", "Canada"),
    ("Montréal", "QC", "Canada"),
    ("Québec", "QC", "Canada"),
    ("Vancouver", "BC", "Canada"),
    ("Victoria", "BC", "Canada"),
    ("Calgary", "AB", "Canada"),
    ("Edmonton", "AB", "Canada"),
    ("Winnipeg", "MB", "Canada"),
    ("Halifax", "NS", "Canada"),
    ("New York", "NY", "United States"),
    ("Los Angeles", "CA", "United States"),
    ("Chicago", "IL", "United States"),
    ("Houston", "TX", "United States"),
    ("Phoenix", "AZ", "United States"),
    ("Seattle", "WA", "United States"),
    ("Boston", "MA", "United States"),
    ("Miami", "FL", "United States"),
    ("Denver", "CO", "United States"),
    ("Atlanta", "GA", "United States"),
];

const STREETS: &[&str] = &[
    "Main St",
    "King St W",
    "Queen St E",
    "Yonge St",
    "Elm St",
    "Oak Ave",
    "Maple Dr",
    "Park Ave",
    "2nd Ave",
    "Lakeshore Blvd",
    "Sunset Blvd",
    "Church St",
    "Bloor St W",
    "Broadway",
    "Cedar Ln",
    "Hillside Rd",
];

const INTERESTS: &[&str] = &[
    "condos",
    "financing",
    "electric vehicles",
    "teeth whitening",
    "solar panels",
    "renovation",
    "insurance",
    "travel",
    "fitness",
    "investing",
    "first home",
    "leasing",
];

const TRAITS: &[&str] = &[
    "price-sensitive",
    "decisive",
    "detail-oriented",
    "chatty",
    "busy",
    "loyal",
    "skeptical",
];

const NEEDS: &[&str] = &["callback", "quote", "financing", "appointment", "follow-up"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Email, PhoneE164, Region};

    fn rules() -> TenantRules {
        TenantRules {
            region: Region::parse("CA").unwrap(),
            statuses: crate::tenants::DEFAULT_STATUSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            funnel_stages: vec!["lead".into(), "demo".into(), "proposal".into()],
        }
    }

    #[test]
    fn area_codes_and_exchanges_make_valid_numbers() {
        // Every exchange in three area codes, every area code with a spread of exchanges (the
        // full product takes seconds in a debug build; the 20,000 generated phones below are
        // random pairs of both).
        let region = Region::parse("US").unwrap();
        let pairs = [416, 212, 310]
            .iter()
            .flat_map(|a| exchanges().iter().map(move |e| (*a, *e)))
            .chain(
                AREA_CODES
                    .iter()
                    .flat_map(|a| exchanges().iter().step_by(53).map(move |e| (*a, *e))),
            );
        for (area, exchange) in pairs {
            for line in ["0000", "9999"] {
                let number = format!("+1{area}{exchange}{line}");
                PhoneE164::parse(&number, region).unwrap_or_else(|m| panic!("{number}: {m}"));
            }
        }
    }

    #[test]
    fn generated_clients_are_unique_valid_and_deterministic() {
        let region = Region::parse("CA").unwrap();
        let faker = Faker::new(TenantId::new(), &rules(), Utc::now());
        let mut emails = HashSet::new();
        let mut phones = HashSet::new();
        let mut ids = HashSet::new();
        let (mut smi, mut smith, mut with_email, mut with_phone) = (0, 0, 0, 0);
        const N: u64 = 20_000;
        for n in 0..N {
            let row = faker.client(n);
            assert!(ids.insert(row.id));
            fields::ensure_identifiable(&row).unwrap();
            if let Some(email) = &row.email {
                with_email += 1;
                assert_eq!(Email::parse(email).unwrap().as_str(), email);
                assert!(emails.insert(email.clone()), "duplicate email {email}");
            }
            if let Some(phone) = &row.phone {
                with_phone += 1;
                let parsed = PhoneE164::parse(phone, region).unwrap();
                assert_eq!(parsed.as_str(), phone);
                assert!(phones.insert(phone.clone()), "duplicate phone {phone}");
            }
            assert!(rules().statuses.contains(&row.status));
            assert!(row.created_at <= faker.now);
            assert!(row.created_at >= faker.now - Duration::days(HISTORY_DAYS));
            assert!(row.activity_at.unwrap() >= row.created_at);
            assert_eq!(row.sort_name, fields::display_name(&row).to_lowercase());
            assert!(!row.search_text.is_empty());
            if row.search_text.contains("smi") {
                smi += 1;
            }
            if row.last_name.as_deref() == Some("Smith") {
                smith += 1;
            }
        }
        let share = |k: u64| k as f64 / N as f64;
        assert!((0.005..0.02).contains(&share(smith)), "Smith: {smith}");
        assert!((0.01..0.06).contains(&share(smi)), "smi: {smi}");
        assert!((0.8..0.9).contains(&share(with_email)));
        assert!((0.7..0.8).contains(&share(with_phone)));

        // The same number gives the same person.
        let (a, b) = (faker.client(1234), faker.client(1234));
        assert_eq!(
            (
                &a.first_name,
                &a.last_name,
                &a.email,
                &a.phone,
                a.created_at
            ),
            (
                &b.first_name,
                &b.last_name,
                &b.email,
                &b.phone,
                b.created_at
            )
        );
    }

    #[test]
    fn phones_are_a_bijection_of_the_number() {
        let phones: HashSet<String> = (0..200_000).map(phone).collect();
        assert_eq!(phones.len(), 200_000);
    }

    #[test]
    fn weighted_sampling_follows_the_weights() {
        let w = Weighted::new([("a", 1), ("b", 3)]);
        let mut rng = Rng::new(7);
        let b = (0..10_000).filter(|_| *w.sample(&mut rng) == "b").count();
        assert!((7_000..8_000).contains(&b), "{b}");
    }
}
