//! Sorted set commands against a real cluster node: scores round-trip as `f64`, ZADD's
//! conditions really apply, ZRANGE by rank, score and name with REV and LIMIT, pops and
//! range removals. Every test runs over RESP3 (scores as doubles) and RESP2 (scores as text).
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::node_exec::NodeExec;
use slotwise::commands::{
    Aggregate, Comparison, Condition, CursorOptions, KeyCommands, SortedSetCommands, ZAddOptions,
    ZCombineOptions, ZPopSide, ZRangeBy, ZRangeOptions,
};

const TAG: &str = "cmdtest-zsets";

/// A leaderboard: ann 10, bob 20, cy 30, dee 40, eve 50.
async fn leaderboard(node: &NodeExec, name: &str) -> slotwise::Result<String> {
    let z = node.key(name);
    node.del(&z).await?;
    let added = node
        .zadd(
            &z,
            [
                (10.0, "ann"),
                (20.0, "bob"),
                (30.0, "cy"),
                (40.0, "dee"),
                (50.0, "eve"),
            ],
        )
        .await?;
    assert_eq!(added, 5);
    Ok(z)
}

#[tokio::test]
async fn scores_ranks_and_counts() {
    for node in NodeExec::each_protocol(TAG).await {
        let z = leaderboard(&node, "basics").await.unwrap();

        assert_eq!(node.zcard(&z).await.unwrap(), 5);
        assert_eq!(node.zscore(&z, "cy").await.unwrap(), Some(30.0));
        assert_eq!(node.zscore(&z, "zed").await.unwrap(), None);
        assert_eq!(
            node.zmscore(&z, ["eve", "zed", "ann"]).await.unwrap(),
            [Some(50.0), None, Some(10.0)]
        );
        assert_eq!(node.zrank(&z, "ann").await.unwrap(), Some(0));
        assert_eq!(node.zrevrank(&z, "ann").await.unwrap(), Some(4));
        assert_eq!(node.zrank(&z, "zed").await.unwrap(), None);

        assert_eq!(node.zcount(&z, 20, 40).await.unwrap(), 3);
        assert_eq!(
            node.zcount(&z, "(20", 40).await.unwrap(),
            2,
            "exclusive min"
        );
        assert_eq!(node.zcount(&z, "-inf", "+inf").await.unwrap(), 5);
        assert_eq!(
            node.zcount(&z, f64::NEG_INFINITY, 25.5).await.unwrap(),
            2,
            "f64 bounds, infinities included"
        );

        assert_eq!(node.zincrby(&z, 2.5, "ann").await.unwrap(), 12.5);
        assert_eq!(node.zincrby(&z, -100.0, "new").await.unwrap(), -100.0);
        assert_eq!(node.zrem(&z, ["new", "zed"]).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn zadd_conditions_apply() {
    for node in NodeExec::each_protocol(TAG).await {
        let z = node.key("zadd-options");
        node.del(&z).await.unwrap();
        node.zadd(&z, [(5.0, "a"), (5.0, "b")]).await.unwrap();

        let nx = ZAddOptions::new().condition(Condition::Nx);
        assert_eq!(
            node.zadd_options(&z, [(1.0, "a"), (1.0, "c")], &nx)
                .await
                .unwrap(),
            1
        );
        assert_eq!(node.zscore(&z, "a").await.unwrap(), Some(5.0), "NX kept a");

        let xx = ZAddOptions::new().condition(Condition::Xx);
        assert_eq!(
            node.zadd_options(&z, [(7.0, "a"), (7.0, "d")], &xx)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            node.zscore(&z, "a").await.unwrap(),
            Some(7.0),
            "XX updated a"
        );
        assert_eq!(
            node.zscore(&z, "d").await.unwrap(),
            None,
            "XX added nothing"
        );

        let gt_ch = ZAddOptions::new().comparison(Comparison::Gt).ch(true);
        assert_eq!(
            node.zadd_options(&z, [(6.0, "a"), (9.0, "b"), (1.0, "e")], &gt_ch)
                .await
                .unwrap(),
            2,
            "CH counts b (raised) and e (added), not a (lower)"
        );
        assert_eq!(node.zscore(&z, "a").await.unwrap(), Some(7.0));
        assert_eq!(node.zscore(&z, "b").await.unwrap(), Some(9.0));

        let xx_lt = ZAddOptions::new()
            .condition(Condition::Xx)
            .comparison(Comparison::Lt);
        node.zadd_options(&z, [(3.0, "a"), (3.0, "f")], &xx_lt)
            .await
            .unwrap();
        assert_eq!(node.zscore(&z, "a").await.unwrap(), Some(3.0));
        assert_eq!(node.zscore(&z, "f").await.unwrap(), None);

        let err = node
            .zadd_options(&z, (1, "a"), &nx.comparison(Comparison::Gt))
            .await
            .unwrap_err();
        assert!(err.is_server_error(), "NX with GT is rejected: {err}");
    }
}

#[tokio::test]
async fn zrange_by_rank_score_and_name() {
    for node in NodeExec::each_protocol(TAG).await {
        let z = leaderboard(&node, "ranges").await.unwrap();

        let all: Vec<String> = node.zrange(&z, 0, -1).await.unwrap();
        assert_eq!(all, ["ann", "bob", "cy", "dee", "eve"]);
        let top2: Vec<String> = node
            .zrange_options(&z, 0, 1, &ZRangeOptions::new().rev(true))
            .await
            .unwrap();
        assert_eq!(top2, ["eve", "dee"]);

        let by_score = ZRangeOptions::new().by(ZRangeBy::Score);
        let mid: Vec<String> = node.zrange_options(&z, "(10", 40, &by_score).await.unwrap();
        assert_eq!(mid, ["bob", "cy", "dee"]);
        let page: Vec<String> = node
            .zrange_options(&z, "-inf", "+inf", &by_score.limit(1, 2))
            .await
            .unwrap();
        assert_eq!(page, ["bob", "cy"], "BYSCORE LIMIT 1 2");
        let rev_page: Vec<String> = node
            .zrange_options(&z, "+inf", 25, &by_score.rev(true).limit(0, 2))
            .await
            .unwrap();
        assert_eq!(rev_page, ["eve", "dee"], "REV takes max first");

        let old: Vec<String> = node.zrangebyscore(&z, 20, "(40").await.unwrap();
        assert_eq!(old, ["bob", "cy"]);

        let with_scores = node
            .zrange_withscores::<String>(&z, 25, 45, &by_score)
            .await
            .unwrap();
        assert_eq!(
            with_scores,
            [("cy".to_owned(), 30.0), ("dee".to_owned(), 40.0)]
        );
        let by_rank = node
            .zrange_withscores::<String>(&z, -1, -1, &ZRangeOptions::new())
            .await
            .unwrap();
        assert_eq!(by_rank, [("eve".to_owned(), 50.0)]);

        // Lexicographic ranges need equal scores.
        let lex = node.key("lex");
        node.del(&lex).await.unwrap();
        node.zadd(
            &lex,
            [(0, "apple"), (0, "banana"), (0, "cherry"), (0, "date")],
        )
        .await
        .unwrap();
        let by_lex = ZRangeOptions::new().by(ZRangeBy::Lex);
        let b_to_c: Vec<String> = node
            .zrange_options(&lex, "[b", "(d", &by_lex)
            .await
            .unwrap();
        assert_eq!(b_to_c, ["banana", "cherry"]);
        let last: Vec<String> = node
            .zrange_options(&lex, "+", "-", &by_lex.rev(true).limit(0, 1))
            .await
            .unwrap();
        assert_eq!(last, ["date"]);
    }
}

#[tokio::test]
async fn pops_and_range_removals() {
    for node in NodeExec::each_protocol(TAG).await {
        let z = leaderboard(&node, "pops").await.unwrap();

        let low = node.zpopmin::<String>(&z, 1).await.unwrap();
        assert_eq!(low, [("ann".to_owned(), 10.0)]);
        let high = node.zpopmax::<String>(&z, 2).await.unwrap();
        assert_eq!(high, [("eve".to_owned(), 50.0), ("dee".to_owned(), 40.0)]);
        assert_eq!(node.zcard(&z).await.unwrap(), 2);

        let missing = node.key("pops-missing");
        assert!(node
            .zpopmin::<String>(&missing, 1)
            .await
            .unwrap()
            .is_empty());
        assert!(node
            .zpopmax::<String>(&missing, 3)
            .await
            .unwrap()
            .is_empty());

        let z = leaderboard(&node, "removals").await.unwrap();
        assert_eq!(node.zremrangebyrank(&z, 0, 1).await.unwrap(), 2);
        assert_eq!(node.zremrangebyscore(&z, "(30", "+inf").await.unwrap(), 2);
        let left: Vec<String> = node.zrange(&z, 0, -1).await.unwrap();
        assert_eq!(left, ["cy"]);
    }
}

fn pairs<const N: usize>(items: [(&str, f64); N]) -> Vec<(String, f64)> {
    items.iter().map(|(m, s)| ((*m).to_owned(), *s)).collect()
}

#[tokio::test]
async fn union_intersection_and_difference() {
    for node in NodeExec::each_protocol(TAG).await {
        let (a, b, d) = (node.key("alg-a"), node.key("alg-b"), node.key("alg-d"));
        node.del([&a, &b, &d]).await.unwrap();
        node.zadd(&a, [(1.0, "x"), (2.0, "y")]).await.unwrap();
        node.zadd(&b, [(10.0, "y"), (20.0, "z")]).await.unwrap();
        let plain = ZCombineOptions::new();

        let union: Vec<String> = node.zunion([&a, &b], &plain).await.unwrap();
        assert_eq!(union, ["x", "y", "z"]);
        let summed = node
            .zunion_withscores::<String>([&a, &b], &plain)
            .await
            .unwrap();
        assert_eq!(summed, pairs([("x", 1.0), ("y", 12.0), ("z", 20.0)]));
        let weighted = ZCombineOptions::new()
            .weights([2.0, 1.0])
            .aggregate(Aggregate::Min);
        let inter = node
            .zinter_withscores::<String>([&a, &b], &weighted)
            .await
            .unwrap();
        assert_eq!(inter, pairs([("y", 4.0)]));
        let inter: Vec<String> = node.zinter([&a, &b], &plain).await.unwrap();
        assert_eq!(inter, ["y"]);
        assert_eq!(node.zintercard([&a, &b], 0).await.unwrap(), 1);
        let diff: Vec<String> = node.zdiff([&a, &b]).await.unwrap();
        assert_eq!(diff, ["x"]);
        assert_eq!(
            node.zdiff_withscores::<String>([&a, &b]).await.unwrap(),
            pairs([("x", 1.0)])
        );

        let max = ZCombineOptions::new().aggregate(Aggregate::Max);
        assert_eq!(node.zunionstore(&d, [&a, &b], &max).await.unwrap(), 3);
        assert_eq!(node.zscore(&d, "y").await.unwrap(), Some(10.0));
        assert_eq!(node.zinterstore(&d, [&a, &b], &plain).await.unwrap(), 1);
        assert_eq!(node.zdiffstore(&d, [&b, &a]).await.unwrap(), 1);
        assert_eq!(node.zrange::<Vec<String>>(&d, 0, -1).await.unwrap(), ["z"]);
    }
}

#[tokio::test]
async fn mpop_random_lex_store_and_scan() {
    for node in NodeExec::each_protocol(TAG).await {
        let (e, z, d) = (node.key("mpop-e"), node.key("mpop-z"), node.key("mpop-d"));
        node.del([&e, &z, &d]).await.unwrap();
        assert!(node
            .zmpop::<String>([&e, &z], ZPopSide::Min, 1)
            .await
            .unwrap()
            .is_none());
        node.zadd(&z, [(1.0, "a"), (2.0, "b"), (3.0, "c")])
            .await
            .unwrap();
        let popped = node
            .zmpop::<String>([&e, &z], ZPopSide::Max, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(popped.key, z);
        assert_eq!(popped.items, pairs([("c", 3.0), ("b", 2.0)]));

        assert_eq!(
            node.zrandmember::<String>(&z).await.unwrap().as_deref(),
            Some("a")
        );
        assert_eq!(node.zrandmember::<String>(&e).await.unwrap(), None);
        let repeated: Vec<String> = node.zrandmember_count(&z, -3).await.unwrap();
        assert_eq!(repeated, ["a", "a", "a"]);
        let scored = node.zrandmember_withscores::<String>(&z, 5).await.unwrap();
        assert_eq!(scored, pairs([("a", 1.0)]));

        let lex = node.key("lex");
        node.del(&lex).await.unwrap();
        node.zadd(&lex, [(0.0, "a"), (0.0, "b"), (0.0, "c"), (0.0, "d")])
            .await
            .unwrap();
        assert_eq!(node.zlexcount(&lex, "[b", "+").await.unwrap(), 3);
        assert_eq!(node.zremrangebylex(&lex, "-", "(c").await.unwrap(), 2);
        let top = ZRangeOptions::new().rev(true);
        assert_eq!(node.zrangestore(&d, &lex, 0, 0, &top).await.unwrap(), 1);
        assert_eq!(node.zrange::<Vec<String>>(&d, 0, -1).await.unwrap(), ["d"]);

        let many = node.key("zscan");
        node.del(&many).await.unwrap();
        let items: Vec<(f64, String)> = (0..30).map(|i| (f64::from(i), format!("m{i}"))).collect();
        node.zadd(&many, &items).await.unwrap();
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, page) = node
                .zscan::<String>(&many, cursor, &CursorOptions::new().count(4))
                .await
                .unwrap();
            seen.extend(page);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        seen.sort_by(|a, b| a.1.total_cmp(&b.1));
        seen.dedup();
        assert_eq!(seen.len(), 30);
        assert_eq!(seen[29], ("m29".to_owned(), 29.0));
    }
}
