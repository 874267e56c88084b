# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled kernels of ecgtool's QRS detector and beat windows.

These kernels are inner functions of :func:`ecgtool.signal.detect.detect_beats`:

``_qrs_filter``
    the band-pass / derivative / squaring / integration chain, built from
    centred moving sums so that it is linear-phase and costs O(1) per sample
    whatever the window length;
``_find_qrs``
    the adaptive-threshold peak search over the integrated signal, with a
    refractory period, T-wave rejection and search-back;
``_window_argmax``
    the largest value (of one polarity, or in size) near each detection,
    which moves it onto its R peak;
``_split_rule``
    the rule that drops detections splitting a regular R-R interval, in
    passes (:func:`ecgtool.signal.artefacts.split_interval_artefacts`);
``_closer_than``
    of two detections closer than the refractory period, the smaller dropped;
``_group_quantile``
    a quantile of each group of values, for the noise band's look at each
    window and the judge's measures (:mod:`ecgtool.signal.bands`,
    :mod:`ecgtool.signal.leads`);
``_noisy_windows``
    the noise band's look at each window: its feature over a share of its
    beats' level (:func:`ecgtool.signal.bands.noisy_windows`);
``_window_measures``
    what the judge reads of a stream of R peaks in each window it judges
    (:func:`ecgtool.signal.leads.window_quality`);
``_tree_leaves``
    the judge's trees walked (:func:`ecgtool.signal.leads.second_lead_probability`);

and one of :func:`ecgtool.beats.windows.local_template`:

``_running_median``
    the median over a sliding window of beats, kept as a sorted buffer in
    which each step puts the entering value in the leaving one's place and
    moves it to its sorted place;

and the running sum under it, for :func:`ecgtool.signal.filters.moving_mean`
(baselines and noise bands of whole records):

``_moving_mean_1d``
    one centred moving mean, ends repeated;

and one of :func:`ecgtool.signal.filters.median_filter` (R-R intervals):

``_running_rank``
    the same sorted-buffer median over one series of doubles, in the window
    convention of ``scipy.ndimage.median_filter`` with ``mode="nearest"``;

and one of :func:`ecgtool.beats.windows.nearest_shapes` (the shape vote on V
calls, and the search for twins that tells noise from PVCs):

``_nearest_shapes``
    for chosen beats, the beats nearby whose QRS is nearest in shape (or the
    first found within reach, nearest in time), each pair compared at every
    shift of the beat within a few samples, and skipped as soon as a lower
    bound of its distance shows it too far.

Every check, copy, filter design and threshold lives in the Python wrapper;
the kernels trust their arguments. Each has a pure-Python twin in
``ecgtool.signal._twins`` and the test suite proves they agree.
"""

from libc.math cimport INFINITY, NAN, fabs, floor, sqrt
from libc.stdlib cimport calloc, malloc, free

DEF NBUF = 8

cdef enum:
    # Segments of the QRS span whose sums bound a pair's distance from below
    # (``_nearest_shapes``).
    NSEG = 4
    # Intervals on either side of a detection's own two, and QRS amplitudes
    # on either side of it, that make its context (``_split_rule``; the
    # Python module's RR_CONTEXT and AMP_CONTEXT).
    RR_CTX = 5
    AMP_CTX = 8
    # Groups up to this size are sorted by insertion; in larger ones the
    # quantile's rank is selected.
    SMALL_GROUP = 24

# A bound computed in floating point is taken as reached only past this share
# of the bar, so that rounding never skips a pair the exact sum would keep.
cdef double BOUND_MARGIN = 1.0 - 1e-9
# The slack of the norm bound that skips a pair at every shift at once
# (``_nearest_shapes``): it implies the bound of each shift with room to spare.
cdef double NORM_SLACK = 1e-6


cdef inline Py_ssize_t _clip(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    if i < 0:
        return 0
    if i >= n:
        return n - 1
    return i


cdef void _moving_mean(const double* x, double* out, Py_ssize_t n,
                       Py_ssize_t half, Py_ssize_t step) noexcept nogil:
    # Centred mean over 2*half+1 samples, edges repeat the end samples; only
    # every step-th mean is stored (out[j] is the mean around x[j*step]).
    # The running sum is split so that the long interior loop has no clipping.
    cdef Py_ssize_t i, k, next_out = step, j = 1
    cdef double s = 0.0
    cdef double inv = 1.0 / (2 * half + 1)
    cdef Py_ssize_t stop = n - half
    for k in range(-half, half + 1):
        s += x[_clip(k, n)]
    out[0] = s * inv
    i = 1
    while i < n and i <= half:
        s += x[_clip(i + half, n)] - x[0]
        if i == next_out:
            out[j] = s * inv
            j += 1
            next_out += step
        i += 1
    if step == 1:
        while i < stop:
            s += x[i + half] - x[i - half - 1]
            out[i] = s * inv
            i += 1
        j = i
        next_out = i
    else:
        while i < stop:
            s += x[i + half] - x[i - half - 1]
            if i == next_out:
                out[j] = s * inv
                j += 1
                next_out += step
            i += 1
    while i < n:
        s += x[n - 1] - x[_clip(i - half - 1, n)]
        if i == next_out:
            out[j] = s * inv
            j += 1
            next_out += step
        i += 1


def _moving_mean_1d(const double[::1] x not None, Py_ssize_t half, double[::1] out not None):
    """Inner function of ``ecgtool.signal.filters.moving_mean``: ``out`` (as long
    as ``x``, at least one value) receives the centred mean over ``2*half+1``
    samples, the ends of ``x`` repeated beyond them."""
    with nogil:
        _moving_mean(&x[0], &out[0], x.shape[0], half, 1)


cdef Py_ssize_t _ring_mask(Py_ssize_t half) noexcept nogil:
    # A power of two of at least 2*half+2 slots, less one: a ring that holds
    # every value a centred window of 2*half+1 reads, and the one it drops.
    cdef Py_ssize_t size = 1
    while size < 2 * half + 2:
        size *= 2
    return size - 1


cdef void _lowpass_twice(const double* x, double* out, Py_ssize_t n, Py_ssize_t h,
                         Py_ssize_t step, double* ring, Py_ssize_t mask) noexcept nogil:
    # _moving_mean of _moving_mean (both over 2*h+1 samples, ends repeated),
    # every step-th value kept: the same sums in the same order, so the same
    # values, without a whole-length array between the two (the first
    # mean's values wait in the ring until the second has read them). The
    # interior loop, where no index needs clipping, makes one first-mean
    # value per step.
    cdef Py_ssize_t i, k, top, made, next_out = step, j = 1
    cdef Py_ssize_t inner = n - 1 - 2 * h
    cdef double s1 = 0.0, s2 = 0.0
    cdef double inv = 1.0 / (2 * h + 1)
    for k in range(-h, h + 1):
        s1 += x[_clip(k, n)]
    ring[0] = s1 * inv
    made = 1
    top = h if h < n - 1 else n - 1
    while made <= top:
        s1 += x[_clip(made + h, n)] - x[_clip(made - h - 1, n)]
        ring[made & mask] = s1 * inv
        made += 1
    for k in range(-h, h + 1):
        s2 += ring[_clip(k, n) & mask]
    out[0] = s2 * inv
    i = 1
    while i < n:
        if h < i < inner:
            # made == i + h: the first mean's next value, then the second's.
            s1 += x[i + 2 * h] - x[i - 1]
            ring[(i + h) & mask] = s1 * inv
            made = i + h + 1
            s2 += ring[(i + h) & mask] - ring[(i - h - 1) & mask]
        else:
            top = i + h if i + h < n - 1 else n - 1
            while made <= top:
                s1 += x[_clip(made + h, n)] - x[_clip(made - h - 1, n)]
                ring[made & mask] = s1 * inv
                made += 1
            s2 += ring[_clip(i + h, n) & mask] - ring[_clip(i - h - 1, n) & mask]
        if i == next_out:
            out[j] = s2 * inv
            j += 1
            next_out += step
        i += 1


cdef void _less_baseline(double* band, Py_ssize_t m, Py_ssize_t h, double* ring,
                         Py_ssize_t mask) noexcept nogil:
    # band minus its _moving_mean over 2*h+1 samples, in place: the values
    # the mean still reads wait in the ring as they were.
    cdef Py_ssize_t i, k, top, saved = 0
    cdef Py_ssize_t inner = m - 1 - h
    cdef double s = 0.0
    cdef double inv = 1.0 / (2 * h + 1)
    top = h if h < m - 1 else m - 1
    while saved <= top:
        ring[saved & mask] = band[saved]
        saved += 1
    for k in range(-h, h + 1):
        s += ring[_clip(k, m) & mask]
    band[0] = ring[0] - s * inv
    for i in range(1, m):
        if h < i <= inner:
            # saved == i + h
            ring[(i + h) & mask] = band[i + h]
            saved = i + h + 1
            s += ring[(i + h) & mask] - ring[(i - h - 1) & mask]
        else:
            top = i + h if i + h < m - 1 else m - 1
            while saved <= top:
                ring[saved & mask] = band[saved]
                saved += 1
            s += ring[_clip(i + h, m) & mask] - ring[_clip(i - h - 1, m) & mask]
        band[i] = ring[i & mask] - s * inv


cdef inline double _slope_power(const double* band, Py_ssize_t m, Py_ssize_t i,
                                double scale) noexcept nogil:
    # The squared central difference of band at i (0 at either end).
    cdef double d
    if i <= 0 or i >= m - 1:
        return 0.0
    d = (band[i + 1] - band[i - 1]) * scale
    return d * d


cdef void _integrate(const double* band, double* feat, Py_ssize_t m, Py_ssize_t h,
                     double scale) noexcept nogil:
    # _moving_mean over 2*h+1 samples of the squared central difference of
    # band, each difference worked out where the mean reads it.
    cdef Py_ssize_t i, k
    cdef Py_ssize_t inner = m - 2 - h
    cdef double s = 0.0, a, b
    cdef double inv = 1.0 / (2 * h + 1)
    for k in range(-h, h + 1):
        s += _slope_power(band, m, _clip(k, m), scale)
    feat[0] = s * inv
    for i in range(1, m):
        if h + 1 < i <= inner:
            a = (band[i + h + 1] - band[i + h - 1]) * scale
            b = (band[i - h] - band[i - h - 2]) * scale
            s += a * a - b * b
        else:
            s += (_slope_power(band, m, _clip(i + h, m), scale)
                  - _slope_power(band, m, _clip(i - h - 1, m), scale))
        feat[i] = s * inv


def _qrs_filter(const double[::1] x not None, Py_ssize_t step, Py_ssize_t lp_half,
                Py_ssize_t hp_half, Py_ssize_t int_half, double scale,
                double[::1] band not None, double[::1] feat not None):
    """Inner function of ``ecgtool.signal.filters.qrs_filter``.

    Low-passes ``x`` with two moving means of ``2*lp_half+1`` samples and
    keeps every ``step``-th value; at that lower rate, ``band`` receives the
    low-passed signal minus its moving mean over ``2*hp_half+1`` samples, and
    ``feat`` the moving mean over ``2*int_half+1`` samples of the squared
    central difference of ``band`` times ``scale``. ``band`` and ``feat``
    hold ``ceil(len(x)/step)`` values. No other array as long as the signal
    is made: on a machine where fresh memory costs a page fault per 4 kB, a
    30-min record's scratch arrays had cost as much as the filtering.
    """
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t m = band.shape[0]
    cdef Py_ssize_t lp_mask = _ring_mask(lp_half), hp_mask = _ring_mask(hp_half)
    cdef double* ring = <double*> malloc((max(lp_mask, hp_mask) + 1) * sizeof(double))
    if ring == NULL:
        raise MemoryError()
    try:
        with nogil:
            _lowpass_twice(&x[0], &band[0], n, lp_half, step, ring, lp_mask)
            _less_baseline(&band[0], m, hp_half, ring, hp_mask)
            _integrate(&band[0], &feat[0], m, int_half, scale)
    finally:
        free(ring)


cdef double _max_slope(const double* sig, Py_ssize_t stride, Py_ssize_t n, Py_ssize_t p,
                       Py_ssize_t half, Py_ssize_t step) noexcept nogil:
    # Largest |sig[k+step] - sig[k-step]| for k within +-half of p, sig's
    # k-th value lying stride values after its first.
    cdef Py_ssize_t k, lo = p - half, hi = p + half
    cdef double s = 0.0, d
    if lo < step:
        lo = step
    if hi > n - 1 - step:
        hi = n - 1 - step
    for k in range(lo, hi + 1):
        d = fabs(sig[(k + step) * stride] - sig[(k - step) * stride])
        if d > s:
            s = d
    return s


cdef struct Ring:
    # The last NBUF values in the order they came (``vals``, the oldest at
    # ``at``) and the same values kept sorted, so that a new value costs one
    # shift instead of a sort: noise peaks, each pushed, outnumber beats
    # tenfold on clean records (the kernel took 1.45x as long with a sort).
    double vals[NBUF]
    double sorted[NBUF]
    int at


cdef inline void _fill(Ring* r, double v) noexcept nogil:
    cdef int i
    for i in range(NBUF):
        r.vals[i] = v
        r.sorted[i] = v
    r.at = 0


cdef inline double _push(Ring* r, double v) noexcept nogil:
    # Put v in place of the oldest value; the median of the NBUF (NBUF is
    # even: the mean of the two middle ones).
    cdef double old = r.vals[r.at]
    cdef int i = 0
    r.vals[r.at] = v
    r.at = (r.at + 1) % NBUF
    while i < NBUF - 1 and r.sorted[i] != old:
        i += 1
    # Close the gap of the old value towards the side v goes to.
    while i > 0 and r.sorted[i - 1] > v:
        r.sorted[i] = r.sorted[i - 1]
        i -= 1
    while i < NBUF - 1 and r.sorted[i + 1] < v:
        r.sorted[i] = r.sorted[i + 1]
        i += 1
    r.sorted[i] = v
    return 0.5 * (r.sorted[NBUF // 2 - 1] + r.sorted[NBUF // 2])


cdef inline double _level(double noise_med, double qrs_med, double k, double gain,
                          double cap) noexcept nogil:
    # The detection threshold: k of the way from the noise level to the beat
    # level, and further (up to cap) the nearer the noise is to the beats.
    cdef double f = k
    if gain > 0.0 and qrs_med > 0.0:
        f = k + gain * noise_med / qrs_med
        if f > cap:
            f = cap if cap > k else k
    return noise_med + f * (qrs_med - noise_med)


def _find_qrs(const double[::1] feat not None, const double[:] sig not None,
              double init_qrs, double init_noise, double init_rr,
              Py_ssize_t refractory, Py_ssize_t twave, Py_ssize_t slope_half,
              Py_ssize_t slope_step, double threshold, double noise_gain,
              double threshold_cap, double t_ratio,
              double sb_factor, double sb_threshold, double floor,
              double relearn_noise, Py_ssize_t[::1] out not None):
    """Inner function of ``ecgtool.signal.detect.find_r_peaks``.

    Scans the local maxima of ``feat`` and writes the indices of those taken
    as QRS complexes to ``out`` (which must hold ``len(feat)//2 + 1``
    values); ``sig`` (same length, any stride: the signal read every
    ``step``-th sample, a view, not a copy) is the signal whose slopes tell
    T waves from beats. Returns the number written. The rules are documented in the
    Python twin ``ecgtool.signal._twins.find_qrs``.
    """
    cdef Py_ssize_t n = feat.shape[0]
    cdef Py_ssize_t sig_stride = sig.strides[0] // sizeof(double)
    cdef Py_ssize_t i, j, p, best_i, count = 0
    cdef Py_ssize_t last = -1, sb_pos = -1, end, wait = 0
    cdef Ring qrs_buf, noise_buf, rr_buf, slope_buf
    cdef double v, thr, rr_med, sb_val = 0.0, slope, last_slope = 0.0
    cdef double qrs_med, noise_med, slope_med = 0.0
    cdef bint is_beat, t_like, searchback, overdue
    if n < 3 or sig.shape[0] != n:
        return 0
    with nogil:
        _fill(&qrs_buf, init_qrs)
        _fill(&noise_buf, init_noise)
        _fill(&rr_buf, init_rr)
        _fill(&slope_buf, 0.0)
        qrs_med = init_qrs
        noise_med = init_noise
        thr = _level(noise_med, qrs_med, threshold, noise_gain, threshold_cap)
        rr_med = init_rr
        i = 1
        while i < n - 1:
            if not (feat[i] > feat[i - 1] and feat[i] >= feat[i + 1]):
                i += 1
                continue
            p = i
            v = feat[i]
            # Rule 1, search-back. The wait starts at the last beat (before
            # the first, at the record start, so a first beat under a
            # too-high initial threshold is still found).
            overdue = (sb_pos >= 0 and p - wait > sb_factor * rr_med
                       and p - sb_pos > refractory)
            searchback = overdue and sb_val > sb_threshold * thr and sb_val > floor
            if overdue and not searchback:
                # Rule 5, re-learning: a wait that ran out lowers the beat
                # level towards its largest peak, and a new wait starts.
                if sb_val > floor and sb_val > relearn_noise * noise_med:
                    qrs_med = _push(&qrs_buf, sb_val)
                    thr = _level(noise_med, qrs_med, threshold, noise_gain, threshold_cap)
                wait = p
                sb_pos = -1
            if searchback:
                p = sb_pos
                v = sb_val
                is_beat = True
                t_like = False
            else:
                # Rule 2, refractory period.
                if last >= 0 and p - last <= refractory:
                    i += 1
                    continue
                is_beat = v > thr and v > floor
                if is_beat:
                    # Rule 3. The first crossing may be a ripple on the rising
                    # edge: move to the largest value within the refractory span.
                    end = p + refractory
                    if end > n:
                        end = n
                    best_i = p
                    for j in range(p + 1, end):
                        if feat[j] > feat[best_i]:
                            best_i = j
                    p = best_i
                    v = feat[p]
                # A peak soon after a beat that is much less steep than the
                # recent beats is a T wave.
                t_like = False
                if last >= 0 and p - last < twave:
                    slope = _max_slope(&sig[0], sig_stride, n, p, slope_half, slope_step)
                    t_like = slope < t_ratio * (slope_med if slope_med > last_slope else last_slope)
            if is_beat and not t_like:
                slope = _max_slope(&sig[0], sig_stride, n, p, slope_half, slope_step)
                if last >= 0:
                    rr_med = _push(&rr_buf, p - last)
                else:
                    # The first beat stands in for the slopes not seen yet.
                    _fill(&slope_buf, slope)
                qrs_med = _push(&qrs_buf, v)
                slope_med = _push(&slope_buf, slope)
                last_slope = slope
                out[count] = p
                count += 1
                last = p
                wait = p
                sb_pos = -1
                thr = _level(noise_med, qrs_med, threshold, noise_gain, threshold_cap)
                if not searchback:
                    i = p + 1
                # else: look at the current peak again with the new state
                continue
            # Rule 4, a noise peak; T waves never become search-back beats.
            noise_med = _push(&noise_buf, v)
            thr = _level(noise_med, qrs_med, threshold, noise_gain, threshold_cap)
            if not t_like and (sb_pos < 0 or v > sb_val):
                sb_pos = p
                sb_val = v
            i = p + 1
        # The record ends while a beat is overdue.
        if (sb_pos >= 0 and n - wait > sb_factor * rr_med
                and sb_val > sb_threshold * thr and sb_val > floor):
            out[count] = sb_pos
            count += 1
    return count


def _window_argmax(const double[::1] values not None, const Py_ssize_t[::1] centres not None,
                   Py_ssize_t half, const double[::1] sign not None, bint absolute,
                   Py_ssize_t[::1] out not None):
    """Index of the largest ``sign * values`` (or ``|values|``) within
    ``+-half`` of each centre, the window cut at the ends, the first of equal
    values; ``sign`` holds one value per centre, or one for all. Writes
    ``out`` (one per centre)."""
    cdef Py_ssize_t n = values.shape[0], m = centres.shape[0], j, k, lo, hi, best
    cdef bint per = sign.shape[0] > 1
    cdef double s, v, top
    if n == 0:
        return
    with nogil:
        for j in range(m):
            lo = centres[j] - half
            hi = centres[j] + half
            if lo < 0:
                lo = 0
            if lo > n - 1:
                lo = n - 1
            if hi > n - 1:
                hi = n - 1
            if hi < lo:
                hi = lo
            s = sign[j] if per else sign[0]
            best = lo
            top = fabs(values[lo]) if absolute else values[lo] * s
            for k in range(lo + 1, hi + 1):
                v = fabs(values[k]) if absolute else values[k] * s
                if v > top:
                    top = v
                    best = k
            out[j] = best


cdef inline Py_ssize_t _mirror(Py_ssize_t p, Py_ssize_t n) noexcept nogil:
    # Index p of a sequence mirrored at both ends (the end samples not repeated).
    if p < 0:
        return -p
    if p >= n:
        return 2 * (n - 1) - p
    return p


ctypedef fused real_t:
    float
    double


cdef inline Py_ssize_t _lower_bound(const real_t* buf, Py_ssize_t m, real_t v) noexcept nogil:
    """The first position of the sorted ``buf[:m]`` whose value is not below ``v``."""
    cdef Py_ssize_t lo = 0, hi = m, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if buf[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void _insert_sorted(real_t* buf, Py_ssize_t m, real_t v) noexcept nogil:
    """Put ``v`` in its place in the sorted ``buf[:m]``, which grows by one."""
    cdef Py_ssize_t pos = _lower_bound(buf, m, v), i
    for i in range(m, pos, -1):
        buf[i] = buf[i - 1]
    buf[pos] = v


cdef inline void _replace_sorted(real_t* buf, Py_ssize_t m, real_t old, real_t v) noexcept nogil:
    """Replace one ``old`` of the sorted ``buf[:m]`` by ``v``, kept sorted.

    ``v`` takes ``old``'s place, then moves to its sorted place: in a
    running window the value entering is mostly near the one leaving (the
    same sample of neighbouring beats, successive R-R intervals), so it
    seldom moves far.
    """
    cdef Py_ssize_t pos = _lower_bound(buf, m, old)
    while pos + 1 < m and buf[pos + 1] < v:
        buf[pos] = buf[pos + 1]
        pos += 1
    while pos > 0 and buf[pos - 1] > v:
        buf[pos] = buf[pos - 1]
        pos -= 1
    buf[pos] = v


def _running_median(const float[:, ::1] x not None, Py_ssize_t half,
                    float[:, ::1] out not None):
    """Median over ``2*half+1`` consecutive values of each row, centred, ends mirrored.

    ``x`` and ``out`` are ``(rows, n)`` with ``1 <= half <= n - 1``; the
    wrapper checks both. NaN is not supported (the wrapper never passes it).
    """
    cdef Py_ssize_t rows = x.shape[0], n = x.shape[1], m = 2 * half + 1
    cdef Py_ssize_t r, i, j
    cdef float* buf = <float*> malloc(m * sizeof(float))
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            for r in range(rows):
                # The window around position 0, sorted by insertion.
                for j in range(m):
                    _insert_sorted(buf, j, x[r, _mirror(j - half, n)])
                out[r, 0] = buf[half]
                for i in range(1, n):
                    _replace_sorted(buf, m, x[r, _mirror(i - 1 - half, n)],
                                    x[r, _mirror(i + half, n)])
                    out[r, i] = buf[half]
    finally:
        free(buf)


cdef void _rank_filter(const double* x, Py_ssize_t n, Py_ssize_t size, double* out,
                       double* buf) noexcept nogil:
    # Value of rank size // 2 in the window of each position (see
    # _running_rank); buf holds size doubles.
    cdef Py_ssize_t lo = size // 2, i, j
    for j in range(size):
        _insert_sorted(buf, j, x[_clip(j - lo, n)])
    out[0] = buf[lo]
    for i in range(1, n):
        _replace_sorted(buf, size, x[_clip(i - 1 - lo, n)], x[_clip(i - 1 - lo + size, n)])
        out[i] = buf[lo]


def _running_rank(const double[::1] x not None, Py_ssize_t size, double[::1] out not None):
    """Value of rank ``size // 2`` among ``x[i - size // 2 : i - size // 2 + size]``.

    The median for odd ``size``, the upper of the two middle values for even
    ``size``; positions outside ``x`` take the nearest end value. ``x`` and
    ``out`` have the same length ``n >= 1`` and ``size >= 1``; the wrapper
    checks both. NaN is not supported (the wrapper never passes it).
    """
    cdef double* buf = <double*> malloc(size * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            _rank_filter(&x[0], x.shape[0], size, &out[0], buf)
    finally:
        free(buf)


def _noisy_windows(const double[::1] feat not None, Py_ssize_t step,
                   const double[::1] level not None, Py_ssize_t w, double gate,
                   Py_ssize_t reach, unsigned char[::1] out not None):
    """The noisy windows of :func:`ecgtool.signal.bands.noisy_windows`,
    given each window's median feature at its beats (``level``, not finite
    for a window without beats, at least one finite): marks ``out`` (one per
    window). ``reach``: windows on either side that set a window's level.

    ``feat`` is not empty (the wrapper has read the levels from it).
    """
    cdef Py_ssize_t n_win = level.shape[0], fsz = feat.shape[0], k, t, prev, nxt, start
    cdef Py_ssize_t ws = max(w // step, 1), m, count, size = 2 * reach + 1
    cdef double bar
    # The nearest window with beats, then the levels filled in, filtered,
    # and the filter's buffer, in one block.
    cdef Py_ssize_t* near = <Py_ssize_t*> calloc(n_win * sizeof(Py_ssize_t)
                                                 + (2 * n_win + size) * sizeof(double), 1)
    cdef double* filled
    cdef double* buf
    if near == NULL:
        raise MemoryError()
    filled = <double*> (near + n_win)
    buf = filled + 2 * n_win
    try:
        with nogil:
            # A window without beats takes the level of the nearest with
            # some (the later of two as near).
            prev = -1
            for k in range(n_win):
                if fabs(level[k]) < INFINITY:
                    prev = k
                near[k] = prev
            nxt = -1
            for k in range(n_win - 1, -1, -1):
                if fabs(level[k]) < INFINITY:
                    nxt = k
                if nxt >= 0 and (near[k] < 0 or nxt - k <= k - near[k]):
                    near[k] = nxt
                filled[k] = level[near[k]]
            _rank_filter(filled, n_win, size, filled + n_win, buf)
            m = (ws + 5) // 6
            for k in range(n_win):
                # Every sixth value of the window over the bar, counted.
                bar = gate * filled[n_win + k]
                start = min(k * w // step, max(fsz - 1, 0))
                count = 0
                for t in range(0, ws, 6):
                    count += feat[min(start + t, fsz - 1)] > bar
                out[k] = (count >= m - m // 2 or near[k] - k > reach or k - near[k] > reach
                          or not (filled[n_win + k] > 0))
    finally:
        free(near)


def _closer_than(const Py_ssize_t[::1] r not None, const double[::1] amp not None,
                 Py_ssize_t min_gap, unsigned char[::1] drop not None):
    """:func:`ecgtool.signal.artefacts.closer_than` in one sweep: marks
    ``drop`` (zeroed) for the smaller of each pair closer than ``min_gap``,
    the survivor of a pair compared with the next detection, the earlier
    kept on a tie. ``r`` sorted."""
    cdef Py_ssize_t n = r.shape[0], j, keep = 0
    with nogil:
        for j in range(1, n):
            if r[j] - r[keep] >= min_gap:
                keep = j
            elif amp[j] > amp[keep]:
                drop[keep] = 1
                keep = j
            else:
                drop[j] = 1


cdef void _sort_doubles(double* buf, Py_ssize_t m) noexcept nogil:
    # Insertion sort: the buffers sorted whole are short.
    cdef Py_ssize_t i
    for i in range(1, m):
        _insert_sorted(buf, i, buf[i])


cdef void _select(double* a, Py_ssize_t m, Py_ssize_t k) noexcept nogil:
    # Puts the k-th smallest of a[:m] at a[k], none larger before it and
    # none smaller after it (Wirth's selection; what a sort would put there).
    cdef Py_ssize_t lo = 0, hi = m - 1, i, j
    cdef double x, t
    while lo < hi:
        x = a[k]
        i, j = lo, hi
        while i <= j:
            while a[i] < x:
                i += 1
            while x < a[j]:
                j -= 1
            if i <= j:
                t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
        if j < k:
            lo = i
        if k < i:
            hi = j


cdef void _two_ranks(double* buf, Py_ssize_t c, Py_ssize_t k, double* a,
                     double* b) noexcept nogil:
    # The values a sort of buf[:c] would put at k and at k + 1 (k itself at
    # the end), found by sorting a short buffer or selecting in a long one;
    # buf is reordered.
    cdef Py_ssize_t i
    if c <= SMALL_GROUP:
        _sort_doubles(buf, c)
        a[0], b[0] = buf[k], buf[k + 1 if k + 1 < c else c - 1]
        return
    _select(buf, c, k)
    a[0] = b[0] = buf[k]
    if k + 1 < c:
        b[0] = buf[k + 1]
        for i in range(k + 2, c):
            if buf[i] < b[0]:
                b[0] = buf[i]


cdef inline double _quantile_of(double* buf, Py_ssize_t c, double q) noexcept nogil:
    # numpy's linear quantile q of buf[:c] (c >= 1; buf reordered): the
    # rank (c - 1) * q between its two neighbours.
    cdef double pos = <double> (c - 1) * q, a, b
    cdef Py_ssize_t lo = <Py_ssize_t> floor(pos)
    _two_ranks(buf, c, lo, &a, &b)
    return a + (b - a) * (pos - <double> lo)


cdef inline double _middle_of(double* buf, Py_ssize_t m) noexcept nogil:
    # The median of buf[:m] (m >= 1; buf reordered) as the Python row
    # medians take it: the middle value, or half the sum of the middle two.
    cdef double a, b
    _two_ranks(buf, m, (m - 1) // 2, &a, &b)
    return a if m % 2 else 0.5 * (a + b)


def _group_quantile(const double[::1] values not None, const Py_ssize_t[::1] groups not None,
                    double q, double[::1] out not None):
    """numpy's linear quantile ``q`` of each group's values, into
    ``out[group]``; groups without values are left as they are.

    ``groups`` holds one index per value, non-decreasing (each group's
    values together), each within ``out``; the values are finite. The
    wrapper checks both.
    """
    cdef Py_ssize_t n = values.shape[0], i = 0, j
    cdef double* buf = <double*> malloc(max(n, 1) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            while i < n:
                j = i
                while j < n and groups[j] == groups[i]:
                    buf[j - i] = values[j]
                    j += 1
                out[groups[i]] = _quantile_of(buf, j - i, q)
                i = j
    finally:
        free(buf)


cdef inline Py_ssize_t _first_at_least(const Py_ssize_t* v, Py_ssize_t n,
                                       Py_ssize_t x, Py_ssize_t div) noexcept nogil:
    # The first i with v[i] // div >= x (v sorted), n where none.
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if v[mid] // div < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void _window_bounds(const Py_ssize_t* peaks, Py_ssize_t n, Py_ssize_t row,
                                Py_ssize_t w, Py_ssize_t n_win, Py_ssize_t size,
                                Py_ssize_t step, Py_ssize_t fsz, Py_ssize_t* out) noexcept nogil:
    # Window row's first and end beat (the last window takes every beat
    # after its start) and its first and end feature sample.
    out[0] = _first_at_least(peaks, n, row * w, 1) if n else 0
    out[1] = n if row == n_win - 1 or n == 0 else _first_at_least(peaks, n, (row + 1) * w, 1)
    out[2] = min(min(row * w, size) // step, fsz)
    out[3] = min(min((row + 1) * w, size) // step, fsz)


def _window_measures(const double[::1] x not None, const double[::1] feat not None,
                     Py_ssize_t step, const Py_ssize_t[::1] peaks not None,
                     const Py_ssize_t[::1] other not None, Py_ssize_t w,
                     const Py_ssize_t[::1] rows not None, Py_ssize_t half, Py_ssize_t hw,
                     double tol, double fs, double[:, ::1] out not None):
    """The raw measures of :func:`ecgtool.signal.leads.window_quality`, one
    row of ``out`` per window of ``rows``: its beats, the feature's median
    at them and 90th centile away from every beat (NaN for none), the share
    of beats with a twin in ``other`` within ``tol``, the R-R intervals'
    coefficient of variation and share under 0.6 of their median, and the
    beats' mean likeness to their median beat.

    ``peaks``, ``other`` and ``rows`` sorted, ``rows`` within the windows
    of ``x``; ``out`` ``(len(rows), 7)``. Returns False, leaving ``out``
    unfinished, where a value read is not finite (the wrapper then runs the
    numpy twin, which follows numpy's rules for them).
    """
    cdef Py_ssize_t n = peaks.shape[0], no = other.shape[0], m = rows.shape[0]
    cdef Py_ssize_t size = x.shape[0], fsz = feat.shape[0], span = 2 * hw
    cdef Py_ssize_t n_win = max(1, (size + w - 1) // w)
    cdef Py_ssize_t j, row, b0, b1, c, i, k, q, lo, hi, at_prev, at_next, cnt, s, most = 1
    cdef double v, total, mean, var, med, dot, nseg, nt, a, like
    cdef Py_ssize_t bounds[4]
    cdef bint finite = True
    # Room for a window's background samples, its beats' values, and their
    # QRS segments with the median beat.
    for j in range(m):
        row = rows[j]
        _window_bounds(&peaks[0] if n else NULL, n, row, w, n_win, size, step, fsz, bounds)
        b0, b1, lo, hi = bounds[0], bounds[1], bounds[2], bounds[3]
        most = max(most, max(hi - lo, (b1 - b0) * (span + 2) + span))
    cdef double* buf = <double*> malloc(most * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            for j in range(m):
                row = rows[j]
                _window_bounds(&peaks[0] if n else NULL, n, row, w, n_win, size, step, fsz,
                               bounds)
                b0, b1, lo, hi = bounds[0], bounds[1], bounds[2], bounds[3]
                c = b1 - b0
                out[j, 0] = c
                # The feature's level at the beats.
                for i in range(c):
                    buf[i] = feat[min(peaks[b0 + i] // step, fsz - 1)]
                    finite = finite and fabs(buf[i]) < INFINITY
                out[j, 1] = _quantile_of(buf, c, 0.5) if c else NAN
                # Its background: the samples more than half from every beat.
                q = _first_at_least(&peaks[0], n, lo, step) if n else 0
                cnt = 0
                for i in range(lo, hi):
                    while q < n and peaks[q] // step < i:
                        q += 1
                    if n:
                        at_prev = peaks[q - 1 if q > 0 else 0] // step
                        at_next = peaks[q if q < n else n - 1] // step
                        if (i - at_prev if i > at_prev else at_prev - i) <= half or \
                                (at_next - i if at_next > i else i - at_next) <= half:
                            continue
                    buf[cnt] = feat[i]
                    finite = finite and fabs(buf[cnt]) < INFINITY
                    cnt += 1
                out[j, 2] = _quantile_of(buf, cnt, 0.9) if cnt else NAN
                # Beats the other stream found too.
                cnt = 0
                for i in range(b0, b1):
                    q = _first_at_least(&other[0], no, peaks[i], 1) if no else 0
                    v = INFINITY
                    if q < no:
                        v = <double> (other[q] - peaks[i])
                    if q > 0 and <double> (peaks[i] - other[q - 1]) < v:
                        v = <double> (peaks[i] - other[q - 1])
                    cnt += v <= tol
                out[j, 3] = cnt / <double> max(c, 1)
                # The R-R intervals within the window.
                k = max(c - 1, 0)
                total = 0.0
                for i in range(k):
                    buf[i] = <double> (peaks[b0 + i + 1] - peaks[b0 + i]) / fs
                    total += buf[i]
                mean = total / max(k, 1)
                var = 0.0
                for i in range(k):
                    var += (buf[i] - mean) * (buf[i] - mean)
                var = var / max(k, 1)
                v = sqrt(var) / mean
                out[j, 4] = v if v != v or v < 2.0 else 2.0      # as np.minimum, NaN kept
                cnt = 0
                if k:
                    for i in range(k):
                        buf[k + i] = buf[i]
                    med = _quantile_of(buf + k, k, 0.5)
                    for i in range(k):
                        cnt += buf[i] < 0.6 * med
                out[j, 5] = cnt / <double> max(k, 1)
                # Likeness: each beat's +-hw samples, mean taken out, against
                # their median sample by sample.
                cnt = 0
                for i in range(b0, b1):
                    if peaks[i] > hw and peaks[i] < size - hw:
                        total = 0.0
                        for s in range(span):
                            a = x[peaks[i] - hw + s]
                            finite = finite and fabs(a) < INFINITY
                            buf[cnt * span + s] = a
                            total += a
                        mean = total / span
                        for s in range(span):
                            buf[cnt * span + s] -= mean
                        cnt += 1
                like = 0.0
                if cnt:
                    # The median beat after the segments; a column gathered
                    # in the room after it.
                    for s in range(span):
                        for i in range(cnt):
                            buf[cnt * span + span + i] = buf[i * span + s]
                        buf[cnt * span + s] = _middle_of(buf + cnt * span + span, cnt)
                    nt = 0.0
                    for s in range(span):
                        nt += buf[cnt * span + s] * buf[cnt * span + s]
                    for i in range(cnt):
                        dot = 0.0
                        nseg = 0.0
                        for s in range(span):
                            dot += buf[i * span + s] * buf[cnt * span + s]
                            nseg += buf[i * span + s] * buf[i * span + s]
                        v = sqrt(nseg) * sqrt(nt)
                        like += dot / v if v > 0 else 0.0
                    like = like / cnt
                out[j, 6] = like
    finally:
        free(buf)
    return finite


def _tree_leaves(const double[:, ::1] rows not None, const Py_ssize_t[:, ::1] feature not None,
                 const double[:, ::1] threshold not None, const Py_ssize_t[:, ::1] left not None,
                 const Py_ssize_t[:, ::1] right not None, Py_ssize_t[:, ::1] out not None):
    """The leaf each row reaches in each tree of an ensemble: ``out[tree,
    row]``. A node sends a row left where its feature is at most the
    node's threshold; a leaf has ``left < 0``. Arrays as
    :func:`ecgtool.signal.leads.second_lead_probability` takes them, all
    ``(trees, nodes)``, ``out`` ``(trees, rows)``. Returns False where a
    node names a feature or a child that is not there (a broken ensemble).
    """
    cdef Py_ssize_t n_trees = feature.shape[0], n_nodes = feature.shape[1]
    cdef Py_ssize_t m = rows.shape[0], n_in = rows.shape[1], t, i, k, f, steps
    cdef bint whole = True
    if (threshold.shape[0] != n_trees or left.shape[0] != n_trees or right.shape[0] != n_trees
            or out.shape[0] != n_trees or out.shape[1] != m or threshold.shape[1] != n_nodes
            or left.shape[1] != n_nodes or right.shape[1] != n_nodes):
        return False
    with nogil:
        for t in range(n_trees):
            for i in range(m):
                k = 0
                steps = 0
                while n_nodes and left[t, k] >= 0 and steps < n_nodes:
                    f = feature[t, k]
                    if f < 0 or f >= n_in or left[t, k] >= n_nodes or right[t, k] < 0 \
                            or right[t, k] >= n_nodes:
                        whole = False
                        break
                    k = left[t, k] if rows[i, f] <= threshold[t, k] else right[t, k]
                    steps += 1
                out[t, i] = k
    return whole


cdef Py_ssize_t _split_once(const Py_ssize_t* r, const double* amp, Py_ssize_t n, double fs,
                            double span_k, double early_k, double amp_k, double irregular_k,
                            double* rr, unsigned char* drop) noexcept nogil:
    # One pass of the split rule over n >= 5 sorted detections: marks drop
    # (one per detection) and returns how many; rr holds n - 1 doubles.
    cdef Py_ssize_t i, k, o, count = 0
    cdef double prev, span, after, top, med, irregular, amp_med
    cdef double ctx[2 * RR_CTX]
    cdef double buf[2 * AMP_CTX]
    cdef bint hit, last_hit = False
    for i in range(n - 1):
        rr[i] = <double> (r[i + 1] - r[i]) / fs
    for i in range(n):
        hit = False
        # v[j], the interval before detection j (the first's: the
        # one after it), is rr[j - 1]; the context of detection i is
        # v[i - 5 .. i - 1] and v[i + 2 .. i + 6], held at the ends.
        prev = rr[i - 1] if i >= 1 else INFINITY
        span = rr[i - 1] + rr[i] if 1 <= i <= n - 2 else INFINITY
        if prev < INFINITY and span < INFINITY:
            k = 0
            for o in range(-RR_CTX, RR_CTX + 2):
                if o == 0 or o == 1:
                    continue
                ctx[k] = rr[_clip(i + o, n) - 1] if _clip(i + o, n) >= 1 else rr[0]
                k += 1
            # The context median is at most its maximum: beats that
            # are not early even against that cannot pass.
            top = ctx[0]
            for k in range(1, 2 * RR_CTX):
                if ctx[k] > top:
                    top = ctx[k]
            if prev < early_k * top and span < span_k * top:
                for k in range(2 * RR_CTX - 1):
                    buf[k] = fabs(ctx[k + 1] - ctx[k])
                irregular = _middle_of(buf, 2 * RR_CTX - 1)
                med = _middle_of(ctx, 2 * RR_CTX)
                irregular = irregular / med
                k = 0
                for o in range(-AMP_CTX, AMP_CTX + 1):
                    if o != 0:
                        buf[k] = amp[_clip(i + o, n)]
                        k += 1
                amp_med = _middle_of(buf, 2 * AMP_CTX)
                after = rr[i + 1] if i <= n - 3 else INFINITY
                hit = (span < span_k * med and prev < early_k * med
                       and after >= early_k * med and amp[i] < amp_k * amp_med
                       and irregular < irregular_k)
        # Of two flagged neighbours, only the first goes.
        drop[i] = hit and not last_hit
        count += drop[i]
        last_hit = hit
    return count


def _split_rule(const Py_ssize_t[::1] r not None, const double[::1] amp not None, double fs,
                double span_k, double early_k, double amp_k, double irregular_k,
                unsigned char[::1] drop not None):
    """:func:`ecgtool.signal.artefacts.split_interval_artefacts`: passes of
    the rule, each over the detections the ones before left, until one
    drops nothing; marks ``drop`` (zeroed, one per detection).

    ``r`` sorted detections; ``amp`` their QRS amplitudes; the four
    thresholds of :class:`~ecgtool.signal.artefacts.SplitRule`.
    """
    cdef Py_ssize_t n = r.shape[0], m = n, i, kept
    # Detections left, their amplitudes and indices, the intervals and the
    # marks of a pass, in one block.
    cdef Py_ssize_t* left = <Py_ssize_t*> malloc(max(n, 1) * (2 * sizeof(Py_ssize_t)
                                                             + 2 * sizeof(double) + 1))
    cdef Py_ssize_t* index
    cdef double* amp_left
    cdef double* rr
    cdef unsigned char* mark
    if left == NULL:
        raise MemoryError()
    index = left + max(n, 1)
    amp_left = <double*> (index + max(n, 1))
    rr = amp_left + max(n, 1)
    mark = <unsigned char*> (rr + max(n, 1))
    try:
        with nogil:
            for i in range(n):
                left[i] = r[i]
                amp_left[i] = amp[i]
                index[i] = i
            while m >= 5 and _split_once(left, amp_left, m, fs, span_k, early_k, amp_k,
                                         irregular_k, rr, mark):
                kept = 0
                for i in range(m):
                    if mark[i]:
                        drop[index[i]] = 1
                    else:
                        left[kept] = left[i]
                        amp_left[kept] = amp_left[i]
                        index[kept] = index[i]
                        kept += 1
                m = kept
    finally:
        free(left)


cdef inline void _segment_sums(const float* span, const Py_ssize_t* edge,
                               double* out) noexcept nogil:
    # The sums of span[edge[k]:edge[k + 1]] for the NSEG segments.
    cdef Py_ssize_t k, t
    cdef double total
    for k in range(NSEG):
        total = 0.0
        for t in range(edge[k], edge[k + 1]):
            total = total + span[t]
        out[k] = total


def _nearest_shapes(const float[:, ::1] qrs not None, const Py_ssize_t[::1] rows not None,
                    Py_ssize_t count, double near, Py_ssize_t span, Py_ssize_t shift,
                    Py_ssize_t[:, ::1] out not None, bint first=False):
    """The ``count`` beats nearest in shape to each beat in ``rows`` (with
    ``first``, the first ``count`` found within ``near``, nearest in time).

    ``qrs`` holds each beat's QRS span with ``shift`` samples more on each
    side (``width + 2 * shift`` columns). A pair's squared distance is the
    least over ``s`` in ``[-shift, shift]`` of the sum of squares of the
    other beat's span minus the beat's span moved by ``s``, over the sum of
    squares of the moved span (at least 1e-9); its square root is compared
    with ``near``. The beats within ``span`` of the row, nearest in time
    first, are searched; a later one replaces a kept one only when strictly
    nearer in shape. ``out`` (``(rows, count)``, filled with -1 by the
    wrapper) gets their indices in ascending order, or stays -1 where fewer
    than ``count`` lie within ``near``. ``count >= 1``; the wrapper checks
    the shapes. A pair is measured only as far as needed to know it is no
    nearer than the bar (``near``, or the ``count``-th nearest kept so far):
    the sum stops there, and two lower bounds of the sum skip it when they
    reach the bar: the squared difference of the two spans' norms, and the
    sum over :data:`NSEG` segments of the span of each segment's squared
    difference of sums over its length (Cauchy-Schwarz); the first is also
    taken for every shift at once, from the least and largest norms of the
    moved spans, so that most pairs of unlike size cost two comparisons.
    With ``first``
    the bar stays ``near`` and the search of a row ends at its ``count``-th
    beat within it.
    """
    cdef Py_ssize_t n = qrs.shape[0], width = qrs.shape[1] - 2 * shift
    cdef Py_ssize_t m = rows.shape[0]
    cdef Py_ssize_t r, i, j, o, k, s, t, kept, within
    cdef double d, best, num, den, diff, bar, stop, limit = near * near
    cdef double top_norm, low_norm, last_bar, above, below
    cdef bint tiny
    cdef const float* other
    cdef const float* beat
    cdef double* dist = <double*> malloc(count * sizeof(double))
    cdef Py_ssize_t* idx = <Py_ssize_t*> malloc(count * sizeof(Py_ssize_t))
    cdef double* dens = <double*> malloc((2 * shift + 1) * sizeof(double))
    cdef double* norms = <double*> malloc((2 * shift + 1) * sizeof(double))
    cdef double* other_norm = <double*> malloc((n if n > 0 else 1) * sizeof(double))
    cdef double* other_seg = <double*> malloc((n if n > 0 else 1) * NSEG * sizeof(double))
    cdef double* segs = <double*> malloc((2 * shift + 1) * NSEG * sizeof(double))
    cdef Py_ssize_t edge[NSEG + 1]
    cdef double inv_len[NSEG]
    cdef const double* oseg
    if (dist == NULL or idx == NULL or dens == NULL or norms == NULL or other_norm == NULL
            or other_seg == NULL or segs == NULL):
        free(dist)
        free(idx)
        free(dens)
        free(norms)
        free(other_norm)
        free(other_seg)
        free(segs)
        raise MemoryError()
    try:
        with nogil:
            for k in range(NSEG + 1):
                edge[k] = k * width // NSEG
            for k in range(NSEG):
                inv_len[k] = 1.0 / (edge[k + 1] - edge[k]) if edge[k + 1] > edge[k] else 0.0
            for j in range(n):
                den = 0.0
                for t in range(width):
                    den = den + qrs[j, shift + t] * qrs[j, shift + t]
                other_norm[j] = sqrt(den)
                _segment_sums(&qrs[j, shift], edge, &other_seg[j * NSEG])
            for r in range(m):
                i = rows[r]
                kept = 0
                within = 0
                top_norm = 0.0
                low_norm = INFINITY
                tiny = False
                for s in range(2 * shift + 1):
                    den = 0.0
                    for t in range(width):
                        den = den + qrs[i, s + t] * qrs[i, s + t]
                    norms[s] = sqrt(den)
                    dens[s] = den if den > 1e-9 else 1e-9
                    tiny = tiny or not den > 1e-9
                    top_norm = max(top_norm, norms[s])
                    low_norm = min(low_norm, norms[s])
                    _segment_sums(&qrs[i, s], edge, &segs[s * NSEG])
                last_bar = -1.0
                above = INFINITY
                below = -INFINITY
                for o in range(1, 2 * span + 1):
                    # Offsets -1, 1, -2, 2, ...: nearest in time first.
                    j = i - (o + 1) // 2 if o % 2 else i + o // 2
                    if j < 0 or j >= n:
                        continue
                    # Only a distance under the current bar counts: stop
                    # summing once a shift passes it (most pairs pass it soon).
                    bar = limit
                    if not first and kept == count and dist[count - 1] < limit:
                        bar = dist[count - 1]
                    # The norm bound for every shift at once: a pair whose
                    # norm lies outside the moved spans' norms by more than
                    # sqrt(bar) of them (with a slack of 1e-6 of that, far
                    # above rounding) is over the bar at every shift.
                    if bar != last_bar:
                        last_bar = bar
                        if not tiny:
                            above = top_norm * (1.0 + sqrt(bar) * (1.0 + NORM_SLACK))
                            below = low_norm * (1.0 - sqrt(bar) * (1.0 + NORM_SLACK))
                    if other_norm[j] > above or other_norm[j] < below:
                        continue
                    best = INFINITY
                    other = &qrs[j, shift]
                    oseg = &other_seg[j * NSEG]
                    for s in range(2 * shift + 1):
                        beat = &qrs[i, s]
                        stop = bar * dens[s]
                        # The bounds from below: only under the bar is the
                        # sum worth taking. Rounding could put a bound a hair
                        # over the sum it bounds, hence the margin.
                        num = (other_norm[j] - norms[s]) * (other_norm[j] - norms[s])
                        if num * BOUND_MARGIN < stop:
                            num = 0.0
                            for k in range(NSEG):
                                diff = oseg[k] - segs[s * NSEG + k]
                                num = num + diff * diff * inv_len[k]
                        if num * BOUND_MARGIN < stop:
                            num = 0.0
                            for t in range(width):
                                diff = other[t] - beat[t]
                                num = num + diff * diff
                                if num >= stop:
                                    break
                        d = num / dens[s]
                        if d < best:
                            best = d
                    if not best < limit:
                        continue
                    within += 1
                    # Keep the count nearest, sorted by distance.
                    if kept < count:
                        k = kept
                        kept += 1
                    elif best < dist[count - 1]:
                        k = count - 1
                    else:
                        continue
                    while k > 0 and dist[k - 1] > best:
                        dist[k] = dist[k - 1]
                        idx[k] = idx[k - 1]
                        k -= 1
                    dist[k] = best
                    idx[k] = j
                    if first and within == count:
                        break
                if within >= count:
                    # Ascending indices (an insertion sort of count values).
                    for k in range(1, count):
                        j = idx[k]
                        t = k
                        while t > 0 and idx[t - 1] > j:
                            idx[t] = idx[t - 1]
                            t -= 1
                        idx[t] = j
                    for k in range(count):
                        out[r, k] = idx[k]
    finally:
        free(dist)
        free(idx)
        free(dens)
        free(norms)
        free(other_norm)
        free(other_seg)
        free(segs)


def _vf_filter(const double[::1] y not None, Py_ssize_t n, Py_ssize_t step,
               double[::1] half not None, double[::1] leak not None,
               double[::1] swing not None):
    """The VF filter (Kuo & Dillman) over windows of ``n`` samples every ``step``.

    For window ``k`` (from ``k * step``): ``half[k]``, the mean half-period
    ``pi * sum|y| / sum|dy|`` in samples; ``leak[k]``, the leakage
    ``sum|y[i] + y[i-N]| / sum(|y[i]| + |y[i-N]|)`` over the window with
    ``N = floor(half + 0.5)``; ``swing[k]``, its peak to peak. ``half`` and
    ``leak`` are NaN where ``N`` is not within ``[1, n)`` or the sums are 0.
    The output arrays hold ``(y.shape[0] - n) // step + 1`` windows, ``n >= 4``
    and ``y`` is finite: the wrapper checks.
    """
    cdef Py_ssize_t m = half.shape[0], k, i, a, lag
    cdef double s_abs, s_diff, lo, hi, v, h, num, den, nan = 0.0 * INFINITY
    with nogil:
        for k in range(m):
            a = k * step
            s_abs = fabs(y[a])
            s_diff = 0.0
            lo = y[a]
            hi = y[a]
            for i in range(a + 1, a + n):
                v = y[i]
                s_abs += fabs(v)
                s_diff += fabs(v - y[i - 1])
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
            swing[k] = hi - lo
            half[k] = nan
            leak[k] = nan
            if s_diff <= 0.0:
                continue
            h = 3.141592653589793 * s_abs / s_diff
            lag = <Py_ssize_t> (h + 0.5)
            if lag < 1 or lag >= n:
                continue
            half[k] = h
            num = 0.0
            den = 0.0
            for i in range(a + lag, a + n):
                num += fabs(y[i] + y[i - lag])
                den += fabs(y[i]) + fabs(y[i - lag])
            if den > 0.0:
                leak[k] = num / den
