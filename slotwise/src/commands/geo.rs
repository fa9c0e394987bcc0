//! [`GeoCommands`]: members with a longitude and latitude (a sorted set underneath):
//! `GEOADD`, `GEOPOS`, `GEODIST`, `GEOHASH`, `GEOSEARCH` and `GEOSEARCHSTORE`, with their
//! option and reply types ([`GeoAddOptions`], [`GeoUnit`], [`GeoFrom`], [`GeoShape`],
//! [`GeoSearchOptions`], [`GeoFields`], [`GeoMatch`]).
//!
//! It does not own the deprecated `GEORADIUS` family (`GEOSEARCH` does all they did), nor
//! routing: `GEOSEARCHSTORE` is atomic, so both keys must share a slot. A geo set is a sorted
//! set, so [`SortedSetCommands`](super::SortedSetCommands) also works on it (`ZREM` removes a
//! place).

use super::{Condition, Executor};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{Cmd, FromValue, ToArgs, Value};

/// A unit of distance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GeoUnit {
    /// `M`: metres.
    #[default]
    Meters,
    /// `KM`: kilometres.
    Kilometers,
    /// `MI`: miles.
    Miles,
    /// `FT`: feet.
    Feet,
}

impl ToArgs for GeoUnit {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_bytes(match self {
            GeoUnit::Meters => b"M",
            GeoUnit::Kilometers => b"KM",
            GeoUnit::Miles => b"MI",
            GeoUnit::Feet => b"FT",
        });
    }
}

/// The options of `GEOADD` (see [`GeoCommands::geoadd_options`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct GeoAddOptions {
    condition: Option<Condition>,
    ch: bool,
}

impl GeoAddOptions {
    /// Options that add nothing: places are added or moved, and the reply counts new ones.
    pub fn new() -> GeoAddOptions {
        GeoAddOptions::default()
    }

    /// Only adds new members ([`Condition::Nx`]) or only moves existing ones
    /// ([`Condition::Xx`]). Default is to do both.
    pub fn condition(mut self, condition: Condition) -> GeoAddOptions {
        self.condition = Some(condition);
        self
    }

    /// `CH`: the reply counts changed members (added or moved), not just added ones. Default
    /// is false.
    pub fn ch(mut self, ch: bool) -> GeoAddOptions {
        self.ch = ch;
        self
    }
}

impl ToArgs for GeoAddOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        cmd.push_arg(self.condition);
        if self.ch {
            cmd.push_bytes(b"CH");
        }
    }
}

/// Where a `GEOSEARCH` is centred: a member's position or a point.
#[derive(Clone, Debug, PartialEq)]
pub struct GeoFrom(Center);

#[derive(Clone, Debug, PartialEq)]
enum Center {
    Member(Vec<u8>),
    LonLat(f64, f64),
}

impl GeoFrom {
    /// `FROMMEMBER member`: the position of a member of the searched set.
    pub fn member(member: impl ToArgs) -> GeoFrom {
        let encoded = Cmd::new(member);
        GeoFrom(Center::Member(encoded.name().to_vec()))
    }

    /// `FROMLONLAT longitude latitude`: a point, in degrees.
    pub fn lonlat(longitude: f64, latitude: f64) -> GeoFrom {
        GeoFrom(Center::LonLat(longitude, latitude))
    }
}

impl ToArgs for GeoFrom {
    fn write_args(&self, cmd: &mut Cmd) {
        match &self.0 {
            Center::Member(m) => {
                cmd.push_bytes(b"FROMMEMBER");
                cmd.push_bytes(m);
            }
            Center::LonLat(lon, lat) => {
                cmd.push_bytes(b"FROMLONLAT");
                cmd.push_float(*lon);
                cmd.push_float(*lat);
            }
        }
    }
}

/// The area a `GEOSEARCH` covers around its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum GeoShape {
    /// `BYRADIUS radius unit`: a circle.
    Radius(f64, GeoUnit),
    /// `BYBOX width height unit`: an axis-aligned rectangle.
    Box(f64, f64, GeoUnit),
}

impl ToArgs for GeoShape {
    fn write_args(&self, cmd: &mut Cmd) {
        match *self {
            GeoShape::Radius(r, unit) => {
                cmd.push_bytes(b"BYRADIUS");
                cmd.push_float(r);
                cmd.push_arg(unit);
            }
            GeoShape::Box(w, h, unit) => {
                cmd.push_bytes(b"BYBOX");
                cmd.push_float(w);
                cmd.push_float(h);
                cmd.push_arg(unit);
            }
        }
    }
}

/// The options of `GEOSEARCH` and `GEOSEARCHSTORE`: order and count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[must_use = "options do nothing unless passed to a command"]
pub struct GeoSearchOptions {
    ascending: Option<bool>,
    count: Option<(u64, bool)>,
}

impl GeoSearchOptions {
    /// Options that add nothing: every match, in no particular order.
    pub fn new() -> GeoSearchOptions {
        GeoSearchOptions::default()
    }

    /// `ASC` (nearest first) if true, `DESC` (farthest first) if false. Default is no order.
    pub fn ascending(mut self, ascending: bool) -> GeoSearchOptions {
        self.ascending = Some(ascending);
        self
    }

    /// `COUNT count`: at most `count` matches (the nearest ones when ordered). Default is
    /// every match.
    pub fn count(mut self, count: u64) -> GeoSearchOptions {
        self.count = Some((count, false));
        self
    }

    /// `COUNT count ANY`: stops as soon as `count` matches are found, which is faster but
    /// not the nearest ones. Default is every match.
    pub fn count_any(mut self, count: u64) -> GeoSearchOptions {
        self.count = Some((count, true));
        self
    }
}

impl ToArgs for GeoSearchOptions {
    fn write_args(&self, cmd: &mut Cmd) {
        match self.ascending {
            Some(true) => cmd.push_bytes(b"ASC"),
            Some(false) => cmd.push_bytes(b"DESC"),
            None => {}
        }
        if let Some((count, any)) = self.count {
            cmd.push_bytes(b"COUNT");
            cmd.push_uint(count);
            if any {
                cmd.push_bytes(b"ANY");
            }
        }
    }
}

/// What [`GeoCommands::geosearch_with`] returns with each member: `WITHDIST`, `WITHHASH`,
/// `WITHCOORD`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GeoFields {
    dist: bool,
    hash: bool,
    coord: bool,
}

impl GeoFields {
    /// Nothing but the member.
    pub fn new() -> GeoFields {
        GeoFields::default()
    }

    /// `WITHDIST`: the distance from the centre, in the search's unit. Default is false.
    pub fn dist(mut self, on: bool) -> GeoFields {
        self.dist = on;
        self
    }

    /// `WITHHASH`: the raw 52-bit geohash score. Default is false.
    pub fn hash(mut self, on: bool) -> GeoFields {
        self.hash = on;
        self
    }

    /// `WITHCOORD`: the longitude and latitude. Default is false.
    pub fn coord(mut self, on: bool) -> GeoFields {
        self.coord = on;
        self
    }
}

impl ToArgs for GeoFields {
    fn write_args(&self, cmd: &mut Cmd) {
        if self.coord {
            cmd.push_bytes(b"WITHCOORD");
        }
        if self.dist {
            cmd.push_bytes(b"WITHDIST");
        }
        if self.hash {
            cmd.push_bytes(b"WITHHASH");
        }
    }
}

/// One match of [`GeoCommands::geosearch_with`]: the member and the fields asked for.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GeoMatch<T> {
    /// The member.
    pub member: T,
    /// The distance from the centre, with [`GeoFields::dist`].
    pub distance: Option<f64>,
    /// The geohash score, with [`GeoFields::hash`].
    pub hash: Option<i64>,
    /// `(longitude, latitude)`, with [`GeoFields::coord`].
    pub coordinates: Option<(f64, f64)>,
}

impl<T: FromValue> FromValue for GeoMatch<T> {
    /// The server sends the member alone when no field was asked for, else an array of the
    /// member and the fields in a fixed order (distance, hash, coordinates); each field has
    /// its own wire type (text or double, integer, array), so the array reads without
    /// knowing which were asked for.
    fn from_value(value: Value) -> Result<GeoMatch<T>> {
        let items = match value.into_inner() {
            Value::Array(items) => items,
            Value::Error(e) => return Err(Error::from_server(e)),
            member => {
                return Ok(GeoMatch {
                    member: T::from_value(member)?,
                    distance: None,
                    hash: None,
                    coordinates: None,
                })
            }
        };
        let mut items = items.into_iter();
        let Some(member) = items.next() else {
            return Err(Error::new(ErrorKind::Type, "an empty geo match"));
        };
        let mut found = GeoMatch {
            member: T::from_value(member)?,
            distance: None,
            hash: None,
            coordinates: None,
        };
        for item in items {
            match item {
                Value::Int(n) => found.hash = Some(n),
                coord @ Value::Array(_) => found.coordinates = Some(FromValue::from_value(coord)?),
                dist => found.distance = Some(f64::from_value(dist)?),
            }
        }
        Ok(found)
    }
}

/// Geospatial commands. Implemented for every [`Executor`].
///
/// See the [module docs](super) for how arguments and reply types work. Positions are
/// `(longitude, latitude)` in degrees, longitude first as the commands have it.
pub trait GeoCommands: Executor {
    /// `GEOADD key longitude latitude member [… …]`: adds places, given as
    /// `(longitude, latitude, member)` tuples; how many were new.
    fn geoadd(&self, key: impl ToArgs, items: impl ToArgs) -> Self::Output<i64> {
        self.execute(Cmd::new("GEOADD").arg(key).arg(items))
    }

    /// `GEOADD key [NX|XX] [CH] longitude latitude member …`: like [`geoadd`](Self::geoadd)
    /// with conditions; how many were added (or changed, with `CH`).
    fn geoadd_options(
        &self,
        key: impl ToArgs,
        items: impl ToArgs,
        options: &GeoAddOptions,
    ) -> Self::Output<i64> {
        self.execute(Cmd::new("GEOADD").arg(key).arg(options).arg(items))
    }

    /// `GEOPOS key member [member …]`: for each member in order, its
    /// `(longitude, latitude)`, or `None` if it is not in the set.
    fn geopos(
        &self,
        key: impl ToArgs,
        members: impl ToArgs,
    ) -> Self::Output<Vec<Option<(f64, f64)>>> {
        self.execute(Cmd::new("GEOPOS").arg(key).arg(members))
    }

    /// `GEODIST key member1 member2 unit`: the distance between two members, or `None` if
    /// either is missing.
    fn geodist(
        &self,
        key: impl ToArgs,
        member1: impl ToArgs,
        member2: impl ToArgs,
        unit: GeoUnit,
    ) -> Self::Output<Option<f64>> {
        self.execute(
            Cmd::new("GEODIST")
                .arg(key)
                .arg(member1)
                .arg(member2)
                .arg(unit),
        )
    }

    /// `GEOHASH key member [member …]`: for each member in order, its 11-character geohash,
    /// or `None` if it is not in the set.
    fn geohash(&self, key: impl ToArgs, members: impl ToArgs) -> Self::Output<Vec<Option<String>>> {
        self.execute(Cmd::new("GEOHASH").arg(key).arg(members))
    }

    /// `GEOSEARCH key FROMMEMBER|FROMLONLAT … BYRADIUS|BYBOX … [ASC|DESC] [COUNT n [ANY]]`:
    /// the members within the shape, e.g. as `Vec<String>`.
    fn geosearch<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        from: &GeoFrom,
        shape: GeoShape,
        options: &GeoSearchOptions,
    ) -> Self::Output<T> {
        self.execute(
            Cmd::new("GEOSEARCH")
                .arg(key)
                .arg(from)
                .arg(shape)
                .arg(options),
        )
    }

    /// `GEOSEARCH … [WITHCOORD] [WITHDIST] [WITHHASH]`: the members within the shape, each
    /// with the fields asked for.
    fn geosearch_with<T: FromValue + Send + 'static>(
        &self,
        key: impl ToArgs,
        from: &GeoFrom,
        shape: GeoShape,
        options: &GeoSearchOptions,
        fields: GeoFields,
    ) -> Self::Output<Vec<GeoMatch<T>>> {
        self.execute(
            Cmd::new("GEOSEARCH")
                .arg(key)
                .arg(from)
                .arg(shape)
                .arg(options)
                .arg(fields),
        )
    }

    /// `GEOSEARCHSTORE destination source … [STOREDIST]`: stores the members of `source`
    /// within the shape in `destination` (with their distances as scores if `store_dist`,
    /// else with their positions, as a geo set); how many were stored. Both keys must share
    /// a slot.
    fn geosearchstore(
        &self,
        destination: impl ToArgs,
        source: impl ToArgs,
        from: &GeoFrom,
        shape: GeoShape,
        options: &GeoSearchOptions,
        store_dist: bool,
    ) -> Self::Output<i64> {
        let mut cmd = Cmd::new("GEOSEARCHSTORE")
            .arg(destination)
            .arg(source)
            .arg(from)
            .arg(shape)
            .arg(options);
        if store_dist {
            cmd.push_bytes(b"STOREDIST");
        }
        self.execute(cmd)
    }
}

impl<E: Executor + ?Sized> GeoCommands for E {}

#[cfg(test)]
mod tests {
    use super::super::testing::ArgsOf;
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Value {
        Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn search_arguments_in_server_order() {
        let options = GeoSearchOptions::new().count_any(3).ascending(true);
        assert_eq!(
            ArgsOf.geosearch::<Vec<String>>(
                "g",
                &GeoFrom::member("home"),
                GeoShape::Radius(5.0, GeoUnit::Kilometers),
                &options
            ),
            [
                "GEOSEARCH",
                "g",
                "FROMMEMBER",
                "home",
                "BYRADIUS",
                "5",
                "KM",
                "ASC",
                "COUNT",
                "3",
                "ANY"
            ]
        );
        assert_eq!(
            ArgsOf.geosearch_with::<String>(
                "g",
                &GeoFrom::lonlat(2.5, 48.0),
                GeoShape::Box(10.0, 20.0, GeoUnit::Miles),
                &GeoSearchOptions::new().ascending(false).count(2),
                GeoFields::new().hash(true).dist(true).coord(true)
            ),
            [
                "GEOSEARCH",
                "g",
                "FROMLONLAT",
                "2.5",
                "48",
                "BYBOX",
                "10",
                "20",
                "MI",
                "DESC",
                "COUNT",
                "2",
                "WITHCOORD",
                "WITHDIST",
                "WITHHASH"
            ]
        );
        assert_eq!(
            ArgsOf.geosearchstore(
                "d",
                "g",
                &GeoFrom::member(7),
                GeoShape::Radius(1.0, GeoUnit::Feet),
                &GeoSearchOptions::new(),
                true
            ),
            [
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMMEMBER",
                "7",
                "BYRADIUS",
                "1",
                "FT",
                "STOREDIST"
            ]
        );
    }

    #[test]
    fn argument_order() {
        assert_eq!(
            ArgsOf.geoadd("g", (13.4, 52.5, "berlin")),
            ["GEOADD", "g", "13.4", "52.5", "berlin"]
        );
        let options = GeoAddOptions::new().ch(true).condition(Condition::Xx);
        assert_eq!(
            ArgsOf.geoadd_options("g", [(1.0, 2.0, "a")], &options),
            ["GEOADD", "g", "XX", "CH", "1", "2", "a"]
        );
        assert_eq!(ArgsOf.geopos("g", ["a", "b"]), ["GEOPOS", "g", "a", "b"]);
        assert_eq!(
            ArgsOf.geodist("g", "a", "b", GeoUnit::Meters),
            ["GEODIST", "g", "a", "b", "M"]
        );
        assert_eq!(ArgsOf.geohash("g", "a"), ["GEOHASH", "g", "a"]);
    }

    #[test]
    fn matches_read_whatever_fields_came() {
        let bare = GeoMatch::<String>::from_value(bulk("a")).unwrap();
        assert_eq!((bare.member.as_str(), bare.distance), ("a", None));
        let full = Value::Array(vec![
            bulk("a"),
            bulk("1.5"),
            Value::Int(42),
            Value::Array(vec![Value::Double(2.0), bulk("3.5")]),
        ]);
        let full = GeoMatch::<String>::from_value(full).unwrap();
        assert_eq!(full.distance, Some(1.5));
        assert_eq!(full.hash, Some(42));
        assert_eq!(full.coordinates, Some((2.0, 3.5)));
        let coord_only = Value::Array(vec![bulk("a"), Value::Array(vec![bulk("1"), bulk("2")])]);
        let coord_only = GeoMatch::<String>::from_value(coord_only).unwrap();
        assert_eq!(
            (coord_only.distance, coord_only.coordinates),
            (None, Some((1.0, 2.0)))
        );
        let err = GeoMatch::<String>::from_value(Value::Array(vec![])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Type);
    }
}
