//! The architecture of a scenario, as the capacity review shows it: every
//! component from the clients to the consumers of its queues (CDN,
//! balancers, app pools, caches, databases, queues, regions), each with its
//! size and its size at the run's peak, and the bottleneck marked.
//!
//! One graph ([`Diagram`]) is built from the scenario and the run's
//! analysis; it is written as a text sketch (`analysis.json`'s `topology`,
//! the review's Markdown) and drawn as `architecture.svg` with plotters and
//! the embedded font, so the bytes depend on nothing but the input.

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use super::analysis::{Component, Kind};
use super::format::short;
use crate::model::data::{CacheScope, DataPath};
use crate::model::{LbPolicy, RequestKind, SystemSpec};

/// What a box of the diagram stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Clients,
    Cdn(usize),
    Balancer(usize),
    Pool(usize),
    Cache(usize),
    Database(usize),
    Queue(usize),
}

/// One box: a component, its name and its sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub part: Part,
    /// `pool web`, `database shop`.
    pub title: String,
    /// Its size and its size at the run's peak, one fact a line.
    pub lines: Vec<String>,
    /// Its column, left to right: clients, CDN, balancers, app pools,
    /// caches and queues, databases and consumer pools.
    pub layer: usize,
    /// Holds the analysis's bottleneck (the first to saturate).
    pub bottleneck: bool,
}

/// The whole system as boxes and arrows (the direction requests and
/// messages travel).
#[derive(Clone, Debug, PartialEq)]
pub struct Diagram {
    pub name: String,
    pub nodes: Vec<Node>,
    /// `(from, to)` indices into `nodes`, without duplicates.
    pub edges: Vec<(usize, usize)>,
}

impl Diagram {
    fn find(&self, part: Part) -> Option<usize> {
        self.nodes.iter().position(|n| n.part == part)
    }

    fn connect(&mut self, from: Part, to: Part) {
        if let (Some(a), Some(b)) = (self.find(from), self.find(to))
            && a != b
            && !self.edges.contains(&(a, b))
        {
            self.edges.push((a, b));
        }
    }
}

pub(crate) fn policy_name(p: LbPolicy) -> &'static str {
    match p {
        LbPolicy::RoundRobin => "round robin",
        LbPolicy::WeightedRoundRobin => "weighted round robin",
        LbPolicy::LeastConnections => "least connections",
        LbPolicy::WeightedLeastConnections => "weighted least connections",
        LbPolicy::Random => "random",
        LbPolicy::PowerOfTwoChoices => "power of two choices",
        LbPolicy::IpHash => "IP hash",
        LbPolicy::ConsistentHash { .. } => "consistent hash",
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn percent(x: f64) -> Option<String> {
    x.is_finite().then(|| format!("{:.0}%", x * 100.0))
}

/// Whether the component at `c` belongs to the box for `part`.
fn holds(spec: &SystemSpec, part: Part, c: &Component) -> bool {
    let of = c.data.as_ref().map(|d| d.of.as_str());
    match part {
        Part::Clients => false,
        Part::Cdn(t) => c.kind == Kind::Cdn && c.name == spec.data.caches[t].name,
        Part::Cache(t) => c.kind == Kind::Cache && c.name == spec.data.caches[t].name,
        Part::Balancer(l) => {
            let name = &spec.load_balancers[l].name;
            (c.kind == Kind::Balancer && &c.name == name)
                || (c.kind == Kind::Region
                    && spec
                        .geo
                        .as_ref()
                        .is_some_and(|g| g.regions.iter().any(|r| r.balancer == l && r.name == c.name)))
        }
        Part::Pool(p) => c.kind == Kind::Pool && c.name == spec.pools[p].name,
        Part::Database(d) => {
            matches!(
                c.kind,
                Kind::Database | Kind::Replicas | Kind::Replication | Kind::Connections
            ) && of == Some(spec.data.databases[d].name.as_str())
        }
        Part::Queue(q) => c.kind == Kind::Queue && c.name == spec.data.queues[q].name,
    }
}

/// The components of the analysis that make up a part.
fn of_part<'a>(spec: &SystemSpec, components: &'a [Component], part: Part) -> Vec<&'a Component> {
    components.iter().filter(|c| holds(spec, part, c)).collect()
}

/// The highest peak utilization among a part's components, in words.
fn busiest(spec: &SystemSpec, components: &[Component], part: Part) -> Option<String> {
    of_part(spec, components, part)
        .iter()
        .map(|c| c.peak_utilization)
        .filter(|u| u.is_finite())
        .max_by(f64::total_cmp)
        .and_then(percent)
        .map(|u| format!("{u} busy at peak"))
}

fn region_of_pool(spec: &SystemSpec, pool: usize) -> Option<&str> {
    let geo = spec.geo.as_ref()?;
    geo.pool_region
        .get(pool)
        .copied()
        .flatten()
        .map(|r| geo.regions[r].name.as_str())
}

/// Builds the diagram of `spec` from the analysis of its run.
pub fn diagram(spec: &SystemSpec, peak_rps: f64, components: &[Component], bottleneck: Option<usize>) -> Diagram {
    let data = &spec.data;
    let mut nodes = Vec::new();
    let total: f64 = spec.traffic.classes.iter().map(|c| c.weight).sum();
    let mut clients = vec![format!("peak {} req/s", short(peak_rps))];
    clients.extend(
        spec.traffic
            .classes
            .iter()
            .map(|c| format!("{} {:.0}%", c.name, c.weight / total * 100.0)),
    );
    nodes.push((Part::Clients, "clients".to_string(), clients, 0));
    for (t, tier) in data.caches.iter().enumerate() {
        if let CacheScope::Edge { pops, shield, .. } = &tier.scope {
            let mut lines = vec![format!("{pops} PoP{}", plural(*pops))];
            if shield.is_some() {
                lines.push("origin shield".into());
            }
            nodes.push((Part::Cdn(t), format!("CDN {}", tier.name), lines, 1));
        }
    }
    for (l, lb) in spec.load_balancers.iter().enumerate() {
        let mut lines = vec![
            policy_name(lb.policy).to_string(),
            format!("{} node{}", lb.nodes.max(1), plural(lb.nodes.max(1))),
        ];
        if let Some(r) = spec
            .geo
            .as_ref()
            .and_then(|g| g.regions.iter().find(|r| r.balancer == l))
        {
            lines.push(format!("region {}", r.name));
        }
        nodes.push((Part::Balancer(l), format!("balancer {}", lb.name), lines, 2));
    }
    let behind_balancer = |p: usize| {
        spec.load_balancers
            .iter()
            .any(|lb| lb.backends.iter().any(|b| b.pool == p))
    };
    for (p, pool) in spec.pools.iter().enumerate() {
        let detail = components.get(p).and_then(|c| c.pool.as_ref());
        let mut lines = vec![format!(
            "{} × {} ({} core{})",
            pool.count,
            spec.instance_types[pool.instance_type].name,
            pool.cores,
            plural(pool.cores)
        )];
        if let Some(d) = detail {
            match &d.autoscaler {
                Some(a) => lines.push(a.clone()),
                None => lines.push("fixed".into()),
            }
            lines.push(format!(
                "peak {} instance{}",
                d.instances_peak,
                plural(d.instances_peak)
            ));
        }
        if let Some(n) = &pool.node_pool {
            lines.push(format!(
                "on {}–{} nodes of {} ({} pods each)",
                n.min, n.max, spec.instance_types[n.instance_type].name, n.pods_per_node
            ));
        }
        if let Some(r) = region_of_pool(spec, p) {
            lines.push(format!("region {r}"));
        }
        let layer = if behind_balancer(p) || !data.queues.iter().any(|q| q.consumers == p) {
            3
        } else {
            5
        };
        nodes.push((Part::Pool(p), format!("pool {}", pool.name), lines, layer));
    }
    for (t, tier) in data.caches.iter().enumerate() {
        let lines = match &tier.scope {
            CacheScope::Edge { .. } => continue,
            CacheScope::Local { .. } => vec!["local, in each app instance".to_string()],
            CacheScope::Shared { nodes, threads, .. } => vec![
                "shared".to_string(),
                format!("{nodes} node{} × {threads} thread{}", plural(*nodes), plural(*threads)),
            ],
        };
        nodes.push((Part::Cache(t), format!("cache {}", tier.name), lines, 4));
    }
    for (q, queue) in data.queues.iter().enumerate() {
        let mut lines = vec![format!("consumed by {}", spec.pools[queue.consumers].name)];
        lines.push(match queue.max_depth {
            Some(d) => format!("at most {d} messages"),
            None => "no depth limit".into(),
        });
        nodes.push((Part::Queue(q), format!("queue {}", queue.name), lines, 4));
    }
    for (d, db) in data.databases.iter().enumerate() {
        let mut lines = vec![format!(
            "primary {} core{}, {} connections",
            db.primary.cores,
            plural(db.primary.cores),
            db.primary.max_connections
        )];
        if db.replicas > 0 {
            lines.push(format!(
                "{} replica{} × {} core{}{}",
                db.replicas,
                plural(db.replicas),
                db.replica.cores,
                plural(db.replica.cores),
                if db.read_from_replicas { ", serve reads" } else { "" }
            ));
        }
        if db.shards.count > 1 {
            lines.push(format!("{} shards, each a primary and its replicas", db.shards.count));
        }
        lines.push(match &db.pooler {
            Some(p) => format!("pooler: {} server connections", p.pool_size),
            None => format!("{} connections per app instance", db.pool_size),
        });
        if let (Some(geo), Some(r)) = (&spec.geo, &db.regional) {
            let mut elsewhere: Vec<&str> = r
                .replicas
                .iter()
                .filter(|(region, _)| *region != r.home)
                .map(|(region, _)| geo.regions[*region].name.as_str())
                .collect();
            elsewhere.dedup();
            lines.push(format!("home region {}", geo.regions[r.home].name));
            if !elsewhere.is_empty() {
                lines.push(format!("replicas in {}", elsewhere.join(", ")));
            }
        }
        nodes.push((Part::Database(d), format!("database {}", db.name), lines, 5));
    }
    let marked = bottleneck.and_then(|b| components.get(b));
    let mut diagram = Diagram {
        name: spec.name.clone(),
        nodes: nodes
            .into_iter()
            .map(|(part, title, mut lines, layer)| {
                if let Some(busy) = busiest(spec, components, part) {
                    lines.push(busy);
                }
                Node {
                    part,
                    title,
                    lines,
                    layer,
                    bottleneck: marked.is_some_and(|c| holds(spec, part, c)),
                }
            })
            .collect(),
        edges: Vec::new(),
    };
    // Clients reach the CDN, if any, then every entry balancer (with
    // regions, the DNS sends them to every region's).
    let entries: Vec<usize> = match &spec.geo {
        Some(geo) => geo.regions.iter().map(|r| r.balancer).collect(),
        None => vec![spec.traffic.target],
    };
    let cdns: Vec<usize> = (0..data.caches.len())
        .filter(|&t| matches!(data.caches[t].scope, CacheScope::Edge { .. }))
        .collect();
    for &l in &entries {
        if cdns.is_empty() {
            diagram.connect(Part::Clients, Part::Balancer(l));
        }
        for &t in &cdns {
            diagram.connect(Part::Clients, Part::Cdn(t));
            diagram.connect(Part::Cdn(t), Part::Balancer(l));
        }
    }
    for (l, lb) in spec.load_balancers.iter().enumerate() {
        for b in &lb.backends {
            diagram.connect(Part::Balancer(l), Part::Pool(b.pool));
        }
    }
    // Every app pool behind a balancer serves every class: each class's
    // data path runs from them through its caches to its database.
    let front: Vec<usize> = (0..spec.pools.len()).filter(|&p| behind_balancer(p)).collect();
    for class in &spec.traffic.classes {
        let Some(path) = &class.data else { continue };
        for hop in hops(path, class.kind) {
            match hop {
                (None, to) => {
                    for &p in &front {
                        diagram.connect(Part::Pool(p), to);
                    }
                }
                (Some(from), to) => diagram.connect(from, to),
            }
        }
    }
    for (q, queue) in data.queues.iter().enumerate() {
        diagram.connect(Part::Queue(q), Part::Pool(queue.consumers));
    }
    diagram
}

/// The arrows of one class's data path behind the app pools (`None`: the
/// app pools themselves): through its caches in lookup order to its
/// database on a read, straight to the database on a write or a fresh
/// read, and to its queue.
fn hops(path: &DataPath, kind: RequestKind) -> Vec<(Option<Part>, Part)> {
    let mut out = Vec::new();
    let mut last = None;
    for &t in &path.caches {
        out.push((last, Part::Cache(t)));
        last = Some(Part::Cache(t));
    }
    if let Some(d) = path.database {
        out.push((last, Part::Database(d)));
        if last.is_some() && (kind == RequestKind::Write || path.fresh) {
            out.push((None, Part::Database(d)));
        }
    }
    if let Some(q) = path.enqueue {
        out.push((None, Part::Queue(q)));
    }
    out
}

/// The diagram as lines of text: the request path from the clients to the
/// app pools as a tree, then every data-tier component and each class's
/// path through them.
pub fn sketch(spec: &SystemSpec, diagram: &Diagram) -> Vec<String> {
    const MARK: &str = "  ◄ bottleneck (first to saturate)";
    let node = |part: Part| diagram.find(part).map(|i| &diagram.nodes[i]);
    let mark = |part: Part| {
        if node(part).is_some_and(|n| n.bottleneck) {
            MARK
        } else {
            ""
        }
    };
    let facts = |part: Part| node(part).map_or(String::new(), |n| n.lines.join(", "));
    let clients = node(Part::Clients).expect("the diagram starts at the clients");
    let mut lines = vec![
        format!("clients  ({}: {})", clients.lines[0], clients.lines[1..].join(", ")),
        "   │".into(),
    ];
    for (t, tier) in spec.data.caches.iter().enumerate() {
        if matches!(tier.scope, CacheScope::Edge { .. }) {
            lines.push("   ▼".into());
            lines.push(format!(
                "(CDN {}: {}){}",
                tier.name,
                facts(Part::Cdn(t)),
                mark(Part::Cdn(t))
            ));
            lines.push("   │".into());
        }
    }
    for (l, lb) in spec.load_balancers.iter().enumerate() {
        let region = spec
            .geo
            .as_ref()
            .and_then(|g| g.regions.iter().find(|r| r.balancer == l));
        let entry = match (&spec.geo, region) {
            (None, _) if l == spec.traffic.target => "▼",
            (Some(_), Some(_)) => "▼",
            _ => " ",
        };
        lines.push(format!("   {entry}"));
        let nodes = if lb.nodes > 1 {
            format!(" {} nodes", lb.nodes)
        } else {
            String::new()
        };
        let head = format!("[{}: {}]{nodes}", lb.name, policy_name(lb.policy));
        match region {
            Some(r) => lines.push(format!("{head}  region {} (DNS){}", r.name, mark(Part::Balancer(l)))),
            None => lines.push(format!("{head}{}", mark(Part::Balancer(l)))),
        }
        for (i, backend) in lb.backends.iter().enumerate() {
            let branch = if i + 1 == lb.backends.len() { "└" } else { "├" };
            let weight = if lb.backends.len() > 1 {
                format!(" (weight {})", backend.weight)
            } else {
                String::new()
            };
            lines.push(format!(
                "   {branch}──► {}{weight}: {}{}",
                spec.pools[backend.pool].name,
                facts(Part::Pool(backend.pool)),
                mark(Part::Pool(backend.pool))
            ));
        }
    }
    let data = &spec.data;
    if data.is_empty() {
        return lines;
    }
    lines.push(String::new());
    lines.push("data tier:".into());
    for (t, tier) in data.caches.iter().enumerate() {
        if !matches!(tier.scope, CacheScope::Edge { .. }) {
            lines.push(format!(
                "  (cache {}: {}){}",
                tier.name,
                facts(Part::Cache(t)),
                mark(Part::Cache(t))
            ));
        }
    }
    for (d, db) in data.databases.iter().enumerate() {
        lines.push(format!(
            "  [database {}: {}]{}",
            db.name,
            facts(Part::Database(d)),
            mark(Part::Database(d))
        ));
    }
    for (q, queue) in data.queues.iter().enumerate() {
        let consumers = queue.consumers;
        lines.push(format!(
            "  <queue {}: {}>{}",
            queue.name,
            facts(Part::Queue(q)),
            mark(Part::Queue(q))
        ));
        lines.push(format!(
            "     └──► {}: {}{}",
            spec.pools[consumers].name,
            facts(Part::Pool(consumers)),
            if spec
                .load_balancers
                .iter()
                .any(|lb| lb.backends.iter().any(|b| b.pool == consumers))
            {
                ""
            } else {
                mark(Part::Pool(consumers))
            }
        ));
    }
    let named = |part: Part| match part {
        Part::Cache(t) => format!("cache {}", data.caches[t].name),
        Part::Database(d) => format!("database {}", data.databases[d].name),
        Part::Queue(q) => format!("queue {}", data.queues[q].name),
        _ => String::new(),
    };
    for class in &spec.traffic.classes {
        let Some(path) = &class.data else { continue };
        let mut steps = Vec::new();
        if let Some(t) = path.edge {
            steps.push(format!("CDN {}", data.caches[t].name));
        }
        steps.push("app".to_string());
        steps.extend(path.caches.iter().map(|&t| named(Part::Cache(t))));
        if let Some(d) = path.database {
            let db = &data.databases[d];
            let to = match class.kind {
                RequestKind::Write => " (primary)",
                RequestKind::Read if path.fresh || !db.read_from_replicas || db.replicas == 0 => " (primary)",
                RequestKind::Read => " (replicas)",
            };
            steps.push(format!("{}{to}", named(Part::Database(d))));
        }
        if let Some(q) = path.enqueue {
            steps.push(named(Part::Queue(q)));
        }
        let kind = match class.kind {
            RequestKind::Read => "read",
            RequestKind::Write => "write",
        };
        lines.push(format!("  {} ({kind}): {}", class.name, steps.join(" ──► ")));
    }
    lines
}

const BOX_W: i32 = 280;
const COLUMN_W: i32 = 340;
const LINE_H: i32 = 19;
const GAP: i32 = 24;
const MARGIN: i32 = 24;
const TOP: i32 = 76;

/// A box's left, top and height in pixels.
type Place = (i32, i32, i32);

/// Where each box is drawn, and the canvas size.
fn layout(diagram: &Diagram) -> (Vec<Place>, (u32, u32)) {
    let mut layers: Vec<usize> = diagram.nodes.iter().map(|n| n.layer).collect();
    layers.sort_unstable();
    layers.dedup();
    let mut next_y = vec![TOP; layers.len()];
    let places = diagram
        .nodes
        .iter()
        .map(|n| {
            let column = layers.binary_search(&n.layer).expect("every layer is listed");
            let height = 34 + LINE_H * n.lines.len() as i32 + if n.bottleneck { LINE_H } else { 0 };
            let y = next_y[column];
            next_y[column] += height + GAP;
            (MARGIN + column as i32 * COLUMN_W, y, height)
        })
        .collect();
    let width = 2 * MARGIN + (layers.len() as i32 - 1).max(0) * COLUMN_W + BOX_W;
    let height = next_y.iter().copied().max().unwrap_or(TOP) + MARGIN;
    (places, (width.max(640) as u32, height.max(240) as u32))
}

/// Draws the diagram as an SVG document.
pub fn svg(diagram: &Diagram) -> Result<String> {
    super::charts::register_font();
    let (places, size) = layout(diagram);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| anyhow!("drawing architecture.svg: {e}");
        root.fill(&WHITE).map_err(err)?;
        let title = ("sans-serif", 26).into_font().color(&BLACK);
        let small = ("sans-serif", 15).into_font().color(&RGBColor(60, 60, 60));
        root.draw(&Text::new(
            format!("Architecture of {}", diagram.name),
            (MARGIN, 16),
            title,
        ))
        .map_err(err)?;
        let red = RGBColor(214, 39, 40);
        if diagram.nodes.iter().any(|n| n.bottleneck) {
            root.draw(&Text::new(
                "red: the bottleneck, first to saturate as traffic grows".to_string(),
                (MARGIN, 48),
                small.clone().color(&red),
            ))
            .map_err(err)?;
        }
        let grey = RGBColor(110, 110, 110);
        for &(a, b) in &diagram.edges {
            let (ax, ay, ah) = places[a];
            let (bx, by, bh) = places[b];
            let from = (ax + BOX_W, ay + ah / 2);
            let to = (bx, by + bh / 2);
            let (from, to) = if bx > ax {
                (from, to)
            } else {
                ((ax, ay + ah / 2), (bx + BOX_W, by + bh / 2))
            };
            root.draw(&PathElement::new(vec![from, to], grey.stroke_width(2)))
                .map_err(err)?;
            // An arrowhead along the line's direction.
            let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
            let len = dx.hypot(dy).max(1.0);
            let (ux, uy) = (dx / len, dy / len);
            let back = (f64::from(to.0) - 12.0 * ux, f64::from(to.1) - 12.0 * uy);
            let side = |s: f64| {
                (
                    (back.0 - 5.0 * uy * s).round() as i32,
                    (back.1 + 5.0 * ux * s).round() as i32,
                )
            };
            root.draw(&Polygon::new(vec![to, side(1.0), side(-1.0)], grey.filled()))
                .map_err(err)?;
        }
        for (n, &(x, y, h)) in diagram.nodes.iter().zip(&places) {
            let (fill, border, width) = if n.bottleneck {
                (RGBColor(253, 226, 226), red, 3)
            } else {
                (RGBColor(240, 244, 248), RGBColor(90, 110, 140), 1)
            };
            root.draw(&Rectangle::new([(x, y), (x + BOX_W, y + h)], fill.filled()))
                .map_err(err)?;
            root.draw(&Rectangle::new(
                [(x, y), (x + BOX_W, y + h)],
                border.stroke_width(width),
            ))
            .map_err(err)?;
            let head = ("sans-serif", 18).into_font().color(&BLACK);
            root.draw(&Text::new(n.title.clone(), (x + 8, y + 7), head))
                .map_err(err)?;
            let mut line_y = y + 32;
            for line in &n.lines {
                root.draw(&Text::new(line.clone(), (x + 8, line_y), small.clone()))
                    .map_err(err)?;
                line_y += LINE_H;
            }
            if n.bottleneck {
                root.draw(&Text::new(
                    "BOTTLENECK: first to saturate".to_string(),
                    (x + 8, line_y),
                    small.clone().color(&red),
                ))
                .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}
