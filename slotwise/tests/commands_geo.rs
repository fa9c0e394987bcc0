//! Geo commands against a real cluster node: adding places with conditions, positions,
//! distances and hashes, searches by radius and by box with their fields, and storing a
//! search. Every test runs over RESP3 and RESP2.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::node_exec::NodeExec;
use slotwise::commands::{
    Condition, GeoAddOptions, GeoCommands, GeoFields, GeoFrom, GeoSearchOptions, GeoShape, GeoUnit,
    KeyCommands, SortedSetCommands,
};

const TAG: &str = "cmdtest-geo";

const PALERMO: (f64, f64) = (13.361389, 38.115556);
const CATANIA: (f64, f64) = (15.087269, 37.502669);

async fn sicily(node: &NodeExec, name: &str) -> String {
    let g = node.key(name);
    node.del(&g).await.unwrap();
    let added = node
        .geoadd(
            &g,
            [
                (PALERMO.0, PALERMO.1, "Palermo"),
                (CATANIA.0, CATANIA.1, "Catania"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(added, 2);
    g
}

#[tokio::test]
async fn add_positions_distances_hashes() {
    for node in NodeExec::each_protocol(TAG).await {
        let g = sicily(&node, "places").await;

        let nx = GeoAddOptions::new().condition(Condition::Nx);
        assert_eq!(
            node.geoadd_options(&g, (1.0, 1.0, "Palermo"), &nx)
                .await
                .unwrap(),
            0,
            "NX leaves Palermo where it is"
        );
        let moved = GeoAddOptions::new().condition(Condition::Xx).ch(true);
        assert_eq!(
            node.geoadd_options(&g, (CATANIA.0, CATANIA.1 + 0.0001, "Catania"), &moved)
                .await
                .unwrap(),
            1,
            "CH counts the move"
        );
        node.geoadd(&g, (CATANIA.0, CATANIA.1, "Catania"))
            .await
            .unwrap();

        let pos = node.geopos(&g, ["Palermo", "Nowhere"]).await.unwrap();
        let (lon, lat) = pos[0].unwrap();
        assert!((lon - PALERMO.0).abs() < 1e-4 && (lat - PALERMO.1).abs() < 1e-4);
        assert_eq!(pos[1], None);

        let km = node
            .geodist(&g, "Palermo", "Catania", GeoUnit::Kilometers)
            .await
            .unwrap()
            .unwrap();
        assert!((km - 166.27).abs() < 0.1, "Palermo–Catania is 166 km: {km}");
        let missing = node.geodist(&g, "Palermo", "Nowhere", GeoUnit::Meters);
        assert_eq!(missing.await.unwrap(), None);

        let hashes = node.geohash(&g, ["Palermo", "Nowhere"]).await.unwrap();
        assert_eq!(hashes, [Some("sqc8b49rny0".to_owned()), None]);
        assert_eq!(
            node.zcard(&g).await.unwrap(),
            2,
            "a geo set is a sorted set"
        );
    }
}

#[tokio::test]
async fn searches_and_stores() {
    for node in NodeExec::each_protocol(TAG).await {
        let g = sicily(&node, "search").await;
        let near_palermo = GeoFrom::member("Palermo");
        let nearest_first = GeoSearchOptions::new().ascending(true);

        let within_100: Vec<String> = node
            .geosearch(
                &g,
                &near_palermo,
                GeoShape::Radius(100.0, GeoUnit::Kilometers),
                &nearest_first,
            )
            .await
            .unwrap();
        assert_eq!(within_100, ["Palermo"]);
        let both: Vec<String> = node
            .geosearch(
                &g,
                &GeoFrom::lonlat(15.0, 37.0),
                GeoShape::Box(400.0, 400.0, GeoUnit::Kilometers),
                &nearest_first,
            )
            .await
            .unwrap();
        assert_eq!(both, ["Catania", "Palermo"]);

        let fields = GeoFields::new().dist(true).hash(true).coord(true);
        let found = node
            .geosearch_with::<String>(
                &g,
                &GeoFrom::lonlat(15.0, 37.0),
                GeoShape::Radius(200.0, GeoUnit::Kilometers),
                &GeoSearchOptions::new().ascending(false).count(1),
                fields,
            )
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "COUNT 1");
        let far = &found[0];
        assert_eq!(far.member, "Palermo", "farthest first");
        assert!((far.distance.unwrap() - 190.44).abs() < 0.1, "{far:?}");
        assert!(far.hash.unwrap() > 0);
        assert!((far.coordinates.unwrap().0 - PALERMO.0).abs() < 1e-4);

        let dist_only = node
            .geosearch_with::<String>(
                &g,
                &near_palermo,
                GeoShape::Radius(1.0, GeoUnit::Meters),
                &GeoSearchOptions::new(),
                GeoFields::new().dist(true),
            )
            .await
            .unwrap();
        assert_eq!(dist_only.len(), 1);
        assert_eq!(dist_only[0].distance, Some(0.0));
        assert_eq!((dist_only[0].hash, dist_only[0].coordinates), (None, None));

        let stored = node.key("stored");
        let n = node
            .geosearchstore(
                &stored,
                &g,
                &near_palermo,
                GeoShape::Radius(500.0, GeoUnit::Kilometers),
                &GeoSearchOptions::new(),
                true,
            )
            .await
            .unwrap();
        assert_eq!(n, 2);
        let by_distance = node.zrange_withscores::<String>(&stored, 0, -1, &Default::default());
        let by_distance = by_distance.await.unwrap();
        assert_eq!(by_distance[0], ("Palermo".to_owned(), 0.0));
        assert!((by_distance[1].1 - 166.27).abs() < 0.1, "STOREDIST in km");
    }
}
