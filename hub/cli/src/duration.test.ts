import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatElapsed, formatSeconds, parseDuration, parseSince, relativeTime } from './duration.js';

void describe('parseDuration', () => {
  void it('reads each unit', () => {
    assert.equal(parseDuration('45s'), 45);
    assert.equal(parseDuration('30m'), 1800);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('7d'), 604_800);
    assert.equal(parseDuration('2w'), 1_209_600);
  });

  void it('adds compound durations and ignores case and surrounding space', () => {
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration(' 1D12H '), 129_600);
  });

  void it('rejects bare numbers, unknown units, junk and zero', () => {
    for (const bad of ['', '5', '1y', 'h', '1h 30m', '-1h', '1.5h', 'soon', '0s', '0h0m']) {
      assert.throws(() => parseDuration(bad), Error, bad);
    }
  });

  void it('names the bad input in its message', () => {
    assert.throws(() => parseDuration('10x'), /invalid duration '10x'/);
  });
});

void describe('relativeTime', () => {
  const now = new Date('2025-01-01T12:00:00Z');

  void it('says never for devices that were never seen', () => {
    assert.equal(relativeTime(null, now), 'never');
  });

  void it('renders past and future times with the largest whole unit', () => {
    assert.equal(relativeTime('2025-01-01T11:59:58Z', now), 'just now');
    assert.equal(relativeTime('2025-01-01T11:59:20Z', now), '40s ago');
    assert.equal(relativeTime('2025-01-01T11:55:00Z', now), '5m ago');
    assert.equal(relativeTime('2025-01-01T09:00:00Z', now), '3h ago');
    assert.equal(relativeTime('2024-12-29T12:00:00Z', now), '3d ago');
    assert.equal(relativeTime('2025-01-02T12:00:00Z', now), 'in 1d');
  });

  void it('passes unparseable text through instead of inventing a time', () => {
    assert.equal(relativeTime('garbage', now), 'garbage');
  });

  void it('formats seconds', () => {
    assert.equal(formatSeconds(59), '59s');
    assert.equal(formatSeconds(3599), '59m');
    assert.equal(formatSeconds(86_399), '23h');
  });
});

void describe('formatElapsed', () => {
  void it('shows the two largest units', () => {
    assert.equal(formatElapsed(400), '0.4s');
    assert.equal(formatElapsed(45_000), '45s');
    assert.equal(formatElapsed(320_000), '5m20s');
    assert.equal(formatElapsed(300_000), '5m');
    assert.equal(formatElapsed((3 * 3600 + 12 * 60 + 30) * 1000), '3h12m');
    assert.equal(formatElapsed((2 * 86_400 + 3 * 3600) * 1000), '2d3h');
    assert.equal(formatElapsed(-5), '0.0s');
  });
});

void describe('parseSince', () => {
  const now = new Date('2025-01-31T12:00:00Z');

  void it('takes a duration back from now or an ISO time', () => {
    assert.equal(parseSince('1h', now), '2025-01-31T11:00:00.000Z');
    assert.equal(parseSince('1h30m', now), '2025-01-31T10:30:00.000Z');
    assert.equal(parseSince('2025-01-30T10:00:00+01:00', now), '2025-01-30T09:00:00.000Z');
    assert.equal(parseSince('2025-01-30', now), '2025-01-30T00:00:00.000Z');
  });

  void it('refuses anything else with a message naming both forms', () => {
    for (const bad of ['5', 'yesterday', '2025-13-45', '']) assert.throws(() => parseSince(bad, now), /duration|ISO 8601/, bad);
  });
});
