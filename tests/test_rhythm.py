"""Rhythm episodes on synthetic R-R sequences with known rhythms, and on real records."""

import warnings
from dataclasses import replace

import numpy as np
import pytest

from ecgtool.evaluate import reference_rhythm, score_episodes
from ecgtool.io.records import Annotations
from ecgtool.rhythm import DEFAULT_RHYTHM, Episodes, find_rhythms
from ecgtool.rr import irregularity, premature_beats, steady_p_waves


def times(rr):
    return np.concatenate([[0.0], np.cumsum(rr)])


def spans(ep, rhythm):
    return [(s, e) for s, e, r in zip(ep.start_s, ep.end_s, ep.rhythm) if r == rhythm]


def test_regular_rhythm_is_sinus():
    rng = np.random.default_rng(1)
    rr = 0.85 + 0.03 * np.sin(np.arange(300) / 8) + rng.normal(0, 0.005, 300)
    ep = find_rhythms(times(rr))
    assert ep.rhythm.tolist() == ["sinus"] and ep.n_beats.tolist() == [301]


def test_af_segment_found_at_its_time():
    rng = np.random.default_rng(2)
    rr = np.concatenate([np.full(150, 0.8), rng.uniform(0.35, 1.1, 200), np.full(150, 0.8)])
    t = times(rr)
    ep = find_rhythms(t)
    af = spans(ep, "af")
    assert len(af) == 1
    start, end = af[0]
    assert abs(start - t[150]) < 10 and abs(end - t[350]) < 10


def test_fast_af_beats_labelled_s_are_af_not_pacs_or_svt():
    # A classifier calls the short intervals of fast AF "S"; taking them all
    # out as PACs would leave a regular-looking rhythm.
    rng = np.random.default_rng(5)
    af_rr = rng.uniform(0.33, 0.6, 120)
    rr = np.concatenate([np.full(100, 0.8), af_rr, np.full(100, 0.8)])
    t = times(rr)
    lab = np.array(["N"] * t.size)
    lab[101:221][af_rr < 0.47] = "S"
    ep = find_rhythms(t, lab)
    af = spans(ep, "af")
    assert len(af) == 1 and af[0][1] - af[0][0] > 0.8 * af_rr.sum()
    assert "svt" not in ep.rhythm
    # Occasional S beats in sinus rhythm are still PACs: taken out, no AF.
    sinus = np.full(300, 0.8)
    lab = np.array(["N"] * 301)
    for i in range(20, 290, 15):
        sinus[i - 1], sinus[i] = 0.5, 1.1
        lab[i] = "S"
    assert "af" not in find_rhythms(times(sinus), lab).rhythm


def test_svt_run_is_regular_and_found():
    rr = np.concatenate([np.full(60, 0.8), np.full(8, 0.45), np.full(60, 0.8)])
    lab = np.array(["N"] * 61 + ["S"] * 8 + ["N"] * 60)
    svt = find_rhythms(times(rr), lab).of("svt")
    assert len(svt) == 1 and svt.n_beats[0] == 8


def test_bigeminy_is_not_af_and_is_named_with_labels():
    rr = np.tile([0.55, 1.05], 100)
    t = times(rr)
    lab = np.array(["N", "V"] * 100 + ["N"])
    ep = find_rhythms(t, lab)
    assert "af" not in ep.rhythm and "bigeminy" in ep.rhythm
    assert ep.duration("bigeminy") > 0.9 * (t[-1] - t[0])
    # Without labels it is still not taken for AF.
    assert "af" not in find_rhythms(t).rhythm


def test_trigeminy_with_labels():
    rr = np.tile([0.8, 0.5, 1.1], 40)
    lab = np.array((["N", "N", "V"] * 41)[:121])
    ep = find_rhythms(times(rr), lab)
    assert "trigeminy" in ep.rhythm and "af" not in ep.rhythm


def test_trigeminy_from_three_ectopic_beats_not_two():
    # MIT-BIH marks trigeminy from three PVCs in the pattern (N N V N N V N N V);
    # two PVCs three beats apart are not yet a rhythm.
    def episode(n_v):
        lab = np.array(["N"] * 40 + ["N", "N", "V"] * n_v + ["N"] * 40)
        rr = np.where(lab[1:] == "V", 0.5, np.where(lab[:-1] == "V", 1.1, 0.8))
        return find_rhythms(times(rr), lab).of("trigeminy")

    three = episode(3)
    assert len(three) == 1 and three.n_beats[0] >= 7
    assert len(episode(2)) == 0


def test_bigeminy_from_beat_times_alone_but_not_trigeminy():
    sinus = np.full(40, 0.8)
    rr = np.concatenate([sinus, np.tile([0.5, 1.1], 10), sinus])
    ep = find_rhythms(times(rr))
    (found,) = spans(ep, "bigeminy")
    assert abs(found[0] - times(rr)[40]) < 2 and found[1] - found[0] > 0.8 * 1.6 * 10
    assert set(ep.rhythm) == {"sinus", "bigeminy"}
    # Trigeminy needs labels: from timing it was wrong half the time on MIT-BIH.
    rr = np.concatenate([sinus, np.tile([0.8, 0.5, 1.1], 10), sinus])
    assert set(find_rhythms(times(rr)).rhythm) == {"sinus"}
    lab = np.array(["N"] * 40 + ["N", "N", "V"] * 10 + ["N"] * 41)
    assert "trigeminy" in find_rhythms(times(rr), lab).rhythm


def test_bigeminy_from_the_beat_times_of_mitdb_119(data):
    from ecgtool.evaluate import BEAT_SYMBOLS
    from ecgtool.io.wfdbfiles import read_wfdb

    rec = read_wfdb(data / "mitdb" / "119")
    a = rec.annotations
    t = a.sample[np.isin(a.symbol, list(BEAT_SYMBOLS))] / rec.fs
    ref = [(s.start, s.end) for s in reference_rhythm(a, rec.fs, rec.n_samples)
           if s.rhythm == "bigeminy"]
    st = score_episodes("119", ref, spans(find_rhythms(t), "bigeminy"), rec.duration_s).stats()
    # Measured: duration Se 0.90, +P 0.95, as with the reference labels.
    assert st["duration_se"] > 0.8 and st["duration_ppv"] > 0.85


def test_n_beats_inside_an_svt_run_become_s_only_at_the_run_rate():
    from ecgtool.ml.revise import revise_labels

    def revised(rr_run, inner, lead=0.8):
        # Beats 20 to 21 + inner come fast (rr_run before each); the network
        # called the first and the last S, those between N.
        t = np.cumsum(np.r_[np.full(20, lead), rr_run, 0.9, np.full(20, 0.8)])
        lab = np.array(["N"] * 20 + ["S"] + ["N"] * inner + ["S"] + ["N"] * 21)
        return "".join(revise_labels(t, lab)[20:22 + inner])

    assert revised(np.full(5, 0.4), 3) == "SSSSS"
    # Four beats between, in a rhythm that was already fast (no abrupt onset):
    # a longer stretch at one rate may be sinus tachycardia, and a beat that
    # does not come early is no premature beat, whatever the network said.
    assert revised(np.full(6, 0.4), 4, lead=0.44) == "NNNNNS"
    # After an abrupt onset the run goes on as S whatever its length.
    assert revised(np.full(6, 0.4), 4) == "SSSSSS"
    # A rate that changes inside, or one under 100 bpm, is not one run.
    # (The last two, sooner than the interval before them, then S, are a couplet.)
    assert revised([0.4, 0.4, 0.4, 0.3, 0.3], 3, lead=0.44) == "NNNSS"
    assert revised(np.full(5, 0.62), 3) == "NNNNN"  # nor are its S calls early


def test_a_run_that_starts_abruptly_at_an_even_rate_is_s_where_the_network_saw_none():
    from ecgtool.ml.revise import revise_labels

    def revised(run, lead=None):
        # Sinus at 0.8 s (or `lead`), then the run's intervals, then sinus again;
        # the network called every beat N.
        lead = np.full(20, 0.8) if lead is None else np.asarray(lead)
        t = np.cumsum(np.r_[lead, run, 0.9, np.full(20, 0.8)])
        out = "".join(revise_labels(t, np.full(t.size, "N")))
        return out[lead.size:lead.size + len(run)], out.count("S")

    # MIT-BIH 209: an atrial tachycardia at 0.37-0.39 s after sinus at 0.62 s.
    run = [0.42, 0.37, 0.37, 0.36, 0.38, 0.37, 0.37, 0.37]
    assert revised(run, np.full(20, 0.62)) == ("S" * 8, 8)
    # Four beats are too few to tell from a few quick sinus beats (the last,
    # followed by a longer interval, is premature by the first rule) ...
    assert revised([0.4] * 4) == ("NNNS", 1)
    # ... AF that starts abruptly varies from beat to beat (CPSC 2021; two
    # beats before a longer interval are premature by the first rule) ...
    assert revised([0.42, 0.37, 0.43, 0.36, 0.34, 0.38, 0.35, 0.56, 0.42])[1] == 2
    # ... sinus tachycardia speeds up beat by beat, even by 4 % a beat (its
    # fastest beat, before a longer interval, is premature by the first rule) ...
    assert revised([0.8 * 0.96 ** k for k in range(1, 16)])[0] == "N" * 14 + "S"
    # ... and a run under 100 bpm is no tachycardia.
    assert revised([0.62] * 8, np.full(20, 1.0))[1] == 0
    # A beat the detector missed leaves one long interval: the beats after it
    # keep the rhythm before it (MIT-BIH 208 at 105 bpm, in noise).
    t = np.cumsum(np.r_[np.full(20, 0.57), 1.72, np.full(8, 0.55), np.full(20, 0.57)])
    assert (revise_labels(t, np.full(t.size, "N")) == "S").sum() == 0
    # A V beat ends the run: what follows it is judged on its own (three beats,
    # the last one premature by the first rule).
    t = np.cumsum(np.r_[np.full(20, 0.8), [0.4] * 6, [0.4] * 3, 0.9, np.full(20, 0.8)])
    lab = np.full(t.size, "N")
    lab[26] = "V"
    assert "".join(revise_labels(t, lab)[20:29]) == "SSSSSSVNS"


def test_an_s_call_on_a_beat_that_comes_on_time_is_n_unless_it_is_one_of_a_run():
    from ecgtool.ml.revise import revise_labels

    # QT Database sel301: a regular sinus rhythm at 120 bpm that the network
    # called S beat after beat.
    t = np.cumsum(np.r_[np.full(40, 0.62), np.linspace(0.62, 0.5, 10), np.full(60, 0.5)])
    lab = np.full(t.size, "N")
    lab[55:90] = "S"
    assert (revise_labels(t, lab) == "N").all()
    # An early S call stays S; so do the S calls of a tachycardia that starts
    # abruptly, though inside it no beat is early against its neighbours.
    t = np.cumsum(np.r_[np.full(30, 0.8), 0.55, 1.0, np.full(10, 0.8), np.full(20, 0.4),
                        np.full(20, 0.8)])
    lab = np.full(t.size, "N")
    lab[30] = "S"
    lab[42:62] = "S"
    out = revise_labels(t, lab)
    assert out[30] == "S" and (out[42:62] == "S").all() and (out[62:] == "N").all()


def test_the_sinus_beat_after_a_ventricular_couplet_is_not_made_premature():
    from ecgtool.ml.revise import revise_labels

    # MIT-BIH 208: a sinus rhythm at 0.63 s, a couplet, and the sinus beat
    # 0.47 s after its second beat, early against the rhythm around it.
    rr = np.r_[np.full(20, 0.63), 0.47, 0.48, 0.47, np.full(20, 0.63)]
    t = np.cumsum(rr)
    lab = np.array(["N"] * 20 + ["V", "V"] + ["N"] * 21)
    assert "".join(revise_labels(t, lab)[19:25]) == "NVVNNN"
    # The same early beat after a sinus beat is premature.
    lab[20:22] = "N"
    assert revise_labels(t, lab)[22] == "S"


def test_an_svt_run_started_abruptly_by_an_s_beat_is_s_while_it_keeps_its_rate():
    from ecgtool.ml.revise import revise_labels

    rr = np.r_[np.full(20, 0.8), np.full(8, 0.4), np.full(20, 0.8)]
    t = np.cumsum(rr)  # beats 20-27 come fast
    lab = np.array(["N"] * 20 + ["S"] + ["N"] * 27)
    out = "".join(revise_labels(t, lab))
    assert out[20:28] == "S" * 8 and set(out[:20] + out[29:]) == {"N"}
    # A false S call that is not early starts nothing: sinus tachycardia stays N.
    t = np.cumsum(np.r_[np.full(20, 0.5), np.full(20, 0.5)])
    lab = np.array(["N"] * 20 + ["S"] + ["N"] * 19)
    assert "".join(revise_labels(t, lab))[21:] == "N" * 19


def test_vt_run_found_with_its_beats():
    rr = np.concatenate([np.full(50, 0.8), np.full(6, 0.4), np.full(50, 0.8)])
    lab = np.array(["N"] * 51 + ["V"] * 6 + ["N"] * 50)
    lab[50] = "N"
    ep = find_rhythms(times(rr), lab)
    vt = ep.of("vt")
    assert len(vt) == 1 and vt.n_beats[0] == 6
    assert vt.start_s[0] == pytest.approx(times(rr)[51])


def test_a_slow_run_of_v_beats_is_an_idioventricular_rhythm_not_vt():
    # Sinus at 75 bpm, a pause, then 20 escape beats at 45 bpm, sinus again.
    rr = np.concatenate([np.full(50, 0.8), [1.6], np.full(20, 1.33), np.full(50, 0.8)])
    lab = np.array(["N"] * 51 + ["V"] * 21 + ["N"] * 50)
    ep = find_rhythms(times(rr), lab)
    ivr = ep.of("ivr")
    assert len(ivr) == 1 and ivr.n_beats[0] == 21 and "vt" not in ep.rhythm
    assert ivr.start_s[0] == pytest.approx(times(rr)[51])
    # The same run at 120 bpm is VT.
    fast = np.concatenate([np.full(50, 0.8), np.full(21, 0.5), np.full(50, 0.8)])
    ep = find_rhythms(times(fast), lab)
    assert "ivr" not in ep.rhythm and len(ep.of("vt")) == 1


def test_irregular_slow_v_run_is_no_idioventricular_rhythm():
    # Detections on electrode-motion noise called V: slow on average, their
    # intervals all over the place. An escape rhythm keeps a steady rate.
    jumpy = np.array([0.5, 1.1, 0.45, 0.9, 0.6, 1.2])
    rr = np.concatenate([np.full(50, 0.8), jumpy, np.full(50, 0.8)])
    lab = np.array(["N"] * 51 + ["V"] * 6 + ["N"] * 50)
    assert 60.0 / jumpy[1:].mean() <= 100.0  # rr[51:56] lie between the V beats
    assert "ivr" not in find_rhythms(times(rr), lab).rhythm
    # At a steady, slowly drifting rate it is one.
    rr[50:56] = np.linspace(1.2, 1.1, 6)
    assert len(find_rhythms(times(rr), lab).of("ivr")) == 1


def test_two_v_beats_are_not_vt():
    rr = np.concatenate([np.full(50, 0.8), [0.4, 0.4], np.full(50, 0.8)])
    lab = np.array(["N"] * 51 + ["V", "V"] + ["N"] * 50)
    assert "vt" not in find_rhythms(times(rr), lab).rhythm


def test_pause_and_rates():
    rr = np.concatenate([np.full(40, 0.8), [2.6], np.full(40, 0.8), np.full(40, 1.5),
                         np.full(40, 0.5)])
    ep = find_rhythms(times(rr))
    p = ep.of("pause")
    assert len(p) == 1 and p.end_s[0] - p.start_s[0] == pytest.approx(2.6)
    assert "brady" in ep.rhythm and "tachy" in ep.rhythm


def test_a_short_record_has_the_rate_it_has():
    # A 10-s resting ECG at 45 a minute holds 7 intervals, under the 10 that
    # a run of slow beats needs inside a longer record: the whole record is
    # brady (diagnose said so from its mean rate; rhythm said sinus). Two
    # intervals are too few to say.
    assert find_rhythms(times(np.full(7, 60 / 45))).rhythm.tolist() == ["brady"]
    assert find_rhythms(times(np.full(9, 0.5))).rhythm.tolist() == ["tachy"]
    assert "brady" not in find_rhythms(times(np.full(2, 60 / 45))).rhythm
    # Inside a longer record, a few slow beats are still no bradycardia.
    rr = np.concatenate([np.full(30, 0.8), np.full(6, 1.4), np.full(30, 0.8)])
    assert "brady" not in find_rhythms(times(rr)).rhythm


def test_noise_span_wins():
    t = times(np.full(100, 0.8))
    ep = find_rhythms(t, noise_spans=[(20.0, 30.0)])
    n = ep.of("noise")
    assert len(n) == 1 and n.start_s[0] <= 20.0 and n.end_s[0] >= 30.0


def test_flutter_span_is_vf_over_vt_labels_but_noise_wins():
    # Flutter waves the detector found, some called V: vf, not broken VT runs.
    t = times(np.full(100, 0.8))
    lab = np.array(["N"] * t.size)
    lab[40:48] = "V"
    ep = find_rhythms(t, lab, vf_spans=[(t[38] + 0.1, t[50] - 0.1)])
    vf = ep.of("vf")
    assert len(vf) == 1 and vf.start_s[0] == t[38] and vf.end_s[0] == t[50]
    assert "vt" not in ep.rhythm
    ep = find_rhythms(t, lab, noise_spans=[(0.0, 100.0)], vf_spans=[(t[38], t[50])])
    assert set(ep.rhythm) == {"noise"}


def test_flutter_waves_labelled_q_make_no_af_at_the_flutter_edges():
    # classify labels flutter waves Q; the stretch the signal shows as flutter
    # may end a few waves short of them. Their irregular intervals are no AF.
    rng = np.random.default_rng(1)
    rr = np.concatenate([np.full(60, 0.8), rng.uniform(0.2, 0.35, 60), np.full(60, 0.8)])
    t = times(rr)
    lab = np.array(["N"] * t.size)
    lab[61:121] = "Q"
    assert "af" in find_rhythms(t, lab).rhythm  # without the flutter known
    ep = find_rhythms(t, lab, vf_spans=[(t[66], t[114])])
    assert "af" not in ep.rhythm and len(ep.of("vf")) == 1


def test_intervals_in_a_noise_span_are_not_measured():
    # Beats found in noise come at random; their intervals are no rhythm:
    # the noise episode reports no irregularity, and the AF score leaves
    # them out.
    rng = np.random.default_rng(3)
    t = times(np.r_[np.full(60, 0.8), rng.uniform(0.4, 1.2, 60), np.full(60, 0.8)])
    ep = find_rhythms(t, noise_spans=[(t[60], t[120])])
    assert ep.rhythm.tolist() == ["sinus", "noise", "sinus"]
    assert np.isnan([ep.nrmssd[1], ep.tpr[1], ep.she[1]]).all()
    assert ep.confidence[0] == pytest.approx(ep.confidence[2])


@pytest.mark.parametrize("t", [np.zeros(0), np.array([1.0])])
def test_empty_and_one_beat(t):
    ep = find_rhythms(t)
    assert len(ep) == 0 and ep.columns()["rhythm"].size == 0


def test_premature_beats_from_timing():
    rr = np.array([1.0, 1.0, 1.0, 0.6, 1.4, 1.0, 1.0, 1.0])
    assert premature_beats(rr).nonzero()[0].tolist() == [4]


def test_reference_af_of_a_real_record(data):
    # MIT-BIH 201 holds paroxysmal AF; with reference beats and labels the
    # detector must find most of it and flag little else.
    from ecgtool.beats.labels import aami_labels
    from ecgtool.evaluate import BEAT_SYMBOLS
    from ecgtool.io.wfdbfiles import read_wfdb

    rec = read_wfdb(data / "mitdb" / "201")
    a = rec.annotations
    m = np.isin(a.symbol, list(BEAT_SYMBOLS))
    ep = find_rhythms(a.sample[m] / rec.fs, aami_labels(a.symbol[m]))
    ref = [(s.start, s.end) for s in reference_rhythm(a, rec.fs, rec.n_samples)
           if s.rhythm == "af"]
    sc = score_episodes("201", ref, spans(ep, "af"), rec.duration_s)
    st = sc.stats()
    # Measured: duration Se 0.99, +P 0.70 (its aberrated APCs read as irregular).
    assert st["duration_se"] > 0.9 and st["duration_ppv"] > 0.65


def test_reference_rhythm_parsing():
    a = Annotations([0, 500, 900], ["+", "+", "+"], ["(N", "(AFIB", "(N\x00"])
    r = reference_rhythm(a, 100.0, 1000)
    assert [(x.start, x.end, x.rhythm) for x in r] == [(0, 5, "sinus"), (5, 9, "af"),
                                                         (9, 10, "sinus")]


def test_af_episode_carries_irregular_features_and_sinus_regular_ones():
    rng = np.random.default_rng(5)
    rr = np.concatenate([0.8 + 0.02 * np.sin(np.arange(200) / 7), rng.uniform(0.4, 1.1, 200),
                         0.8 + 0.02 * np.sin(np.arange(200) / 7)])
    t = times(rr)
    ep = find_rhythms(t)
    af = ep.rhythm == "af"
    # Beat times alone can split the irregular stretch (where a beat's timing
    # looks like a PVC's, its intervals leave the score): judge the features
    # of the sinus episodes in the regular stretches.
    mid = (ep.start_s + ep.end_s) / 2
    sinus = (ep.rhythm == "sinus") & ((mid < t[200]) | (mid > t[400]))
    assert af.any() and sinus.sum() == 2
    assert ep.duration("af") > 0.8 * (t[400] - t[200])
    assert ep.nrmssd[af].min() > 0.15 > 0.05 > ep.nrmssd[sinus].max()
    assert ep.tpr[af].min() > 0.55 and ep.she[af].min() > ep.she[sinus].max()


def test_irregularity_needs_eight_intervals_and_old_episode_tables_still_read():
    assert all(np.isnan(irregularity(np.full(7, 0.8))))
    old = {"start_s": [0.0], "end_s": [10.0], "rhythm": ["sinus"], "confidence": [1.0],
           "n_beats": [12]}
    ep = Episodes.from_columns(old)
    assert list(ep.columns())[-3:] == ["nrmssd", "tpr", "she"] and np.isnan(ep.nrmssd).all()


def test_labels_revised_by_the_rhythm_around_each_beat():
    from ecgtool.ml.revise import revise_labels

    rng = np.random.default_rng(3)
    # Sinus at 0.8 s with two early beats: one followed by a pause (premature),
    # one that starts a faster stretch (its next interval is as short).
    rr = np.r_[np.full(30, 0.8), 0.55, 0.95, np.full(30, 0.8), 0.6, np.full(10, 0.6),
               np.full(30, 0.8)]
    t = np.concatenate([[0.0], np.cumsum(rr)])
    got = revise_labels(t, np.full(t.size, "N"))
    assert got[31] == "S"
    assert (got[[62, 63, 64]] == "N").all()
    assert (got == "S").sum() == 1
    # AF: irregularly irregular; beats a classifier called S there are N.
    af = np.concatenate([[0.0], np.cumsum(rng.uniform(0.4, 1.1, 120))])
    lab = np.full(af.size, "N")
    lab[::7] = "S"
    lab[5] = "V"
    out = revise_labels(af, lab)
    assert (out[20:100] != "S").all() and out[5] == "V"
    # Nothing to judge: fewer than three beats.
    assert revise_labels(np.array([0.0, 0.8]), np.array(["S", "N"])).tolist() == ["S", "N"]
    # An interval across a gap (beats may be missing in it) is no interval:
    # the beat after it is not premature, a run does not go on across it.
    broken = np.zeros(t.size - 1, bool)
    broken[30] = True
    assert (revise_labels(t, np.full(t.size, "N"), broken=broken) == "S").sum() == 0
    run = np.cumsum(np.r_[0.0, np.full(20, 0.8), 0.5, np.full(20, 0.5), np.full(20, 0.8)])
    lab = np.full(run.size, "N")
    lab[21] = "S"
    assert (revise_labels(run, lab) == "S").sum() == 21
    broken = np.zeros(run.size - 1, bool)
    broken[30] = True
    cut = revise_labels(run, lab, broken=broken)
    assert (cut[21:31] == "S").all() and (cut[31:41] == "N").all()


def test_both_beats_of_a_couplet_of_premature_beats_are_s():
    from ecgtool.ml.revise import revise_labels

    # Sinus at 0.8 s; two early beats in a row, then a pause.
    rr = np.r_[np.full(30, 0.8), 0.5, 0.5, 1.1, np.full(30, 0.8)]
    t = np.concatenate([[0.0], np.cumsum(rr)])
    got = revise_labels(t, np.full(t.size, "N"))
    assert np.flatnonzero(got == "S").tolist() == [31, 32]
    # After a ventricular beat the first is not judged (no sinus beat is due).
    lab = np.full(t.size, "N")
    lab[30] = "V"
    assert revise_labels(t, lab)[31] == "N"
    # A faster stretch that stays fast is no couplet.
    fast = np.concatenate([[0.0], np.cumsum(np.r_[np.full(30, 0.8), np.full(20, 0.6),
                                                  np.full(30, 0.8)])])
    assert (revise_labels(fast, np.full(fast.size, "N")) == "N").all()


def test_pacs_amid_steady_p_waves_are_revised_however_irregular():
    # A PAC every 2-4 beats makes the intervals vary enough to read as
    # irregularly irregular (which vetoes the early-beat rule); steadily
    # conducted P waves say the atria are not fibrillating, as the rhythm
    # analysis says. P waves at random PR intervals (as AF's f waves give)
    # leave the stretch irregular.
    from ecgtool.ml.revise import revise_labels
    from ecgtool.rhythm import irregular_beats, steady_atria

    rng = np.random.default_rng(3)
    rr = []
    for _ in range(25):
        rr += [0.8 + rng.normal(0, 0.02)] * int(rng.integers(1, 4)) + [0.55, 1.05]
    t = np.cumsum(np.r_[0.0, rr])
    lab = np.full(t.size, "N")
    pac = np.flatnonzero(np.isclose(np.diff(t), 0.55)) + 1
    assert irregular_beats(t, lab).mean() > 0.5
    steady = np.full(t.size, 160.0)
    assert not irregular_beats(t, lab, pr_ms=steady).any()
    assert steady_atria(steady).all()
    got = revise_labels(t, lab, pr_ms=steady)
    assert np.flatnonzero(got == "S").tolist() == pac.tolist()
    for pr in (None, rng.uniform(40, 300, t.size), np.full(t.size, np.nan)):
        assert (revise_labels(t, lab, pr_ms=pr) == "S").sum() < pac.size // 2


def _irregular_with_pr(n, pr, seed=0):
    # Irregularly irregular intervals (as AF) with the given PR per beat.
    rng = np.random.default_rng(seed)
    t = np.concatenate([[0.0], np.cumsum(rng.uniform(0.55, 1.05, n - 1))])
    return t, np.asarray(pr, dtype=float)


def test_steady_p_waves_veto_af():
    n = 300
    rng = np.random.default_rng(1)
    t, steady = _irregular_with_pr(n, 160 + rng.normal(0, 5, n))
    assert find_rhythms(t).of("af").duration("af") > 0.9 * t[-1]
    # The same intervals with P waves at a steady PR are not AF (sinus
    # arrhythmia, ectopy the labels missed) ...
    assert len(find_rhythms(t, pr_ms=steady).of("af")) == 0
    off = replace(DEFAULT_RHYTHM, p_steady_share=0.0, p_present_share=0.0)
    assert find_rhythms(t, settings=off, pr_ms=steady).of("af").duration("af") > 0.9 * t[-1]
    # ... with none found they are; with "P waves" at random distances on
    # every beat (what the slope rules find in AF) they are when presence
    # is not read (p_present_share 0, as with --p-net none).
    assert find_rhythms(t, pr_ms=np.full(n, np.nan)).of("af").duration("af") > 0.9 * t[-1]
    random_pr = rng.uniform(40, 300, n)
    no_presence = replace(DEFAULT_RHYTHM, p_present_share=0.0)
    assert find_rhythms(t, settings=no_presence,
                        pr_ms=random_pr).of("af").duration("af") > 0.9 * t[-1]


def test_p_waves_on_most_beats_veto_af():
    # P waves from the network on most beats, at whatever PR: the atria are
    # not fibrillating (a block with varying conduction, a wandering pacemaker).
    n = 300
    rng = np.random.default_rng(3)
    t, _ = _irregular_with_pr(n, np.zeros(n))
    pr = rng.uniform(40, 300, n)
    pr[rng.random(n) < 0.1] = np.nan  # 90 % of beats with a P wave
    assert len(find_rhythms(t, pr_ms=pr).of("af")) == 0
    # On a quarter of the beats (the network's false P waves in AF run at 7-15 %) they do not.
    pr[rng.random(n) < 0.75] = np.nan
    assert find_rhythms(t, pr_ms=pr).of("af").duration("af") > 0.9 * t[-1]
    off = replace(DEFAULT_RHYTHM, p_present_share=0.0)
    assert find_rhythms(t, settings=off, pr_ms=np.nan_to_num(pr, nan=150.0) + rng.uniform(
        -100, 100, n)).of("af").duration("af") > 0.9 * t[-1]


def test_short_af_amid_steady_p_waves_is_kept():
    rng = np.random.default_rng(2)
    rr = np.r_[np.full(100, 0.8) + rng.normal(0, 0.01, 100), rng.uniform(0.4, 1.0, 45),
               np.full(100, 0.8) + rng.normal(0, 0.01, 100)]
    t = np.concatenate([[0.0], np.cumsum(rr)])
    pr = 160 + rng.normal(0, 5, t.size)
    # In the AF: no P wave on most beats (the network's word), or P waves
    # at random distances on every beat (the slope rules', presence not read).
    for af_pr, settings in ((np.where(rng.random(46) < 0.1, rng.uniform(40, 300, 46), np.nan),
                             DEFAULT_RHYTHM),
                            (rng.uniform(40, 300, 46), replace(DEFAULT_RHYTHM,
                                                               p_present_share=0.0))):
        pr[100:146] = af_pr
        af = find_rhythms(t, pr_ms=pr, settings=settings).of("af")
        assert len(af) == 1
        start, end = t[100], t[145]
        overlap = min(end, af.end_s[0]) - max(start, af.start_s[0])
        assert overlap > 0.8 * (end - start)


def test_steady_p_waves_edges_and_empty():
    assert steady_p_waves(np.zeros(0), 30).size == 0
    m = steady_p_waves(np.full(10, 150.0), 30)  # fewer beats than a window
    assert m.all()


def test_sinus_arrhythmia_of_mitdb_115_is_not_af(data):
    """115 is sinus rhythm throughout; its sinus arrhythmia read as 3 minutes
    of AF from the R-R intervals alone. Its P waves say otherwise."""
    from ecgtool.io.wfdbfiles import read_wfdb
    from ecgtool.signal.detect import detect_beats

    rec = read_wfdb(data / "mitdb" / "115")
    b = detect_beats(rec.signal, rec.fs)
    t = b.r_peak / rec.fs
    assert find_rhythms(t).of("af").duration("af") > 120
    assert find_rhythms(t, pr_ms=b.pr_ms).of("af").duration("af") < 30


def test_the_entropy_bins_are_numpys_histogram_bins():
    # irregularity() bins by hand for speed; np.histogram is the definition.
    rng = np.random.default_rng(3)
    for _ in range(300):
        rr = rng.uniform(0.3, 1.5, rng.integers(8, 200)) * rng.choice([0.1, 1.0])
        d, half = np.diff(rr), 0.5 * rr.mean()
        hist, _ = np.histogram(np.clip(d, -half, half), bins=16, range=(-half, half))
        p = hist[hist > 0] / d.size
        assert irregularity(rr)[2] == pytest.approx(-(p * np.log(p)).sum() / np.log(16), abs=1e-12)
        assert irregularity(rr)[0] == pytest.approx(np.sqrt(np.mean(d ** 2)) / rr.mean())


def test_a_record_shorter_than_the_window_gets_one_af_score():
    # Twelve irregular intervals (a 10-second ECG in AF): every interval gets
    # the score of the whole record, so the record is AF from end to end.
    # Windows filled with repeats of the end values had made the score of
    # each end follow its end interval.
    from ecgtool.rr import af_score

    rr = np.array([0.61, 0.93, 0.72, 1.05, 0.58, 0.84, 0.99, 0.66, 0.77, 1.1, 0.62, 0.9])
    ok = np.ones(rr.size, bool)
    score = af_score(rr, ok, rr.size, inside=True)
    assert np.ptp(score) == 0 and score[0] > DEFAULT_RHYTHM.af_threshold
    assert np.ptp(af_score(rr, ok, rr.size)) > 0
    # Nine irregular intervals between five regular ones: one record, AF
    # throughout (the end windows had made it sinus, AF, sinus).
    rr = np.r_[0.8, 0.81, 0.8, np.random.default_rng(0).uniform(0.5, 1.1, 9), 0.8, 0.81]
    t = np.concatenate([[0.0], np.cumsum(rr)])
    ep = find_rhythms(t, np.full(t.size, "N"))
    assert ep.rhythm.tolist() == ["af"] and ep.n_beats.tolist() == [15]


def test_beats_a_detector_missed_do_not_read_as_af():
    # A steady rhythm of which a weaker detector (an archive's .qrs file)
    # missed 30 % of the beats: its doubled and tripled intervals are not AF,
    # while AF itself, thinned the same way, still is.
    rng = np.random.default_rng(3)
    rr = 0.8 + 0.05 * np.sin(np.arange(1500) / 10) + rng.normal(0, 0.03, 1500)
    t = times(rr)
    t = t[rng.random(t.size) >= 0.3]
    assert not spans(find_rhythms(t), "af")
    af = times(rng.uniform(0.4, 1.2, 1500))
    af = af[rng.random(af.size) >= 0.3]
    found = spans(find_rhythms(af), "af")
    assert sum(e - s for s, e in found) > 0.9 * (af[-1] - af[0])
    # Labelled beats come from a classified signal, ecgtool's own detector's:
    # there no interval is set aside, and these gaps would read as AF.
    assert spans(find_rhythms(t, np.full(t.size, "N")), "af")
    # An interval under half the local one (an extra detection) is no
    # multiple of it, and no division by zero either.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        find_rhythms(np.sort(np.r_[t, t[100] + 0.25]))


def _fine_af(seed=1):
    # Irregular beats (0.45-1.1 s) of Gaussian R, S and T waves and no atrial
    # wave, with 20 uV of white noise on the baseline: fine AF.
    fs, rng = 360.0, np.random.default_rng(seed)
    r_s = np.cumsum(rng.uniform(0.45, 1.1, 300)) + 1.0
    t = np.arange(int((r_s[-1] + 1.0) * fs)) / fs
    x = 0.02 * rng.standard_normal(t.size)
    for c in r_s:
        near = slice(int((c - 0.5) * fs), int((c + 0.7) * fs))
        u = t[near] - c
        x[near] += (1.2 * np.exp(-(u / 0.012) ** 2) - 0.2 * np.exp(-((u - 0.03) / 0.01) ** 2)
                    + 0.3 * np.exp(-((u - 0.3) / 0.05) ** 2))
    return x, fs


def test_fine_af_is_found_with_the_p_presence_rule_off():
    # A known weakness (docs/how-it-works.md, Rhythm): on this signal the
    # P-wave network calls P waves before most beats, and the rule that P
    # waves before 70 % of a window's beats are no AF takes most of the AF
    # away; the setting the documentation gives for fine AF finds it.
    from ecgtool.analysis import analyse_signal

    def af_share(settings=DEFAULT_RHYTHM):
        ep = analyse_signal(*_fine_af(), classify=False, settings=settings).episodes
        af = sum(e - s for s, e, rh in zip(ep.start_s, ep.end_s, ep.rhythm) if rh == "af")
        return af / (ep.end_s[-1] - ep.start_s[0])

    assert af_share(replace(DEFAULT_RHYTHM, p_present_share=0.0)) > 0.9
    assert af_share() < 0.5  # should this fail, the weakness is gone: say so in the docs
