import { describe, expect, it } from 'vitest';
import { autoReplicas, clusterSize, parseReplicasSetting, ReplicasSettingError, wantedReplicas } from '../../../src/queue/replicas.js';

const single = { jetstream: true };
const cluster = (n: number) => ({ jetstream: true, cluster: 'c', connect_urls: Array.from({ length: n }, (_, i) => `127.0.0.1:${4222 + i}`) });

describe('stream replicas', () => {
  it('parses auto and 1..5, and names what is wrong otherwise', () => {
    expect(parseReplicasSetting('auto')).toBe('auto');
    expect(parseReplicasSetting(' AUTO ')).toBe('auto');
    expect(parseReplicasSetting('3')).toBe(3);
    for (const bad of ['0', '6', '2.5', 'three', '-1']) {
      expect(() => parseReplicasSetting(bad)).toThrow(ReplicasSettingError);
      expect(() => parseReplicasSetting(bad)).toThrow(/"auto" or an integer from 1 to 5/);
    }
  });

  it('counts the servers of a cluster from its gossiped client URLs', () => {
    expect(clusterSize(single)).toBe(1);
    expect(clusterSize({ jetstream: false })).toBe(0);
    expect(clusterSize(cluster(3))).toBe(3);
    expect(clusterSize({ ...cluster(3), connect_urls: ['a:1', 'a:1', 'b:1'] })).toBe(2);
    expect(clusterSize({ jetstream: true, cluster: 'c' })).toBe(1);
  });

  it('auto is 3 on a cluster of 3 or more servers, else 1', () => {
    expect(autoReplicas(single)).toBe(1);
    expect(autoReplicas(cluster(2))).toBe(1);
    expect(autoReplicas(cluster(3))).toBe(3);
    expect(autoReplicas(cluster(5))).toBe(3);
    expect(autoReplicas(undefined)).toBe(1);
  });

  it('auto never lowers an existing count; a fixed count is applied as it is', () => {
    expect(wantedReplicas('auto', cluster(2), 3)).toBe(3);
    expect(wantedReplicas('auto', cluster(3), 1)).toBe(3);
    expect(wantedReplicas('auto', single)).toBe(1);
    expect(wantedReplicas(1, cluster(3), 3)).toBe(1);
    expect(wantedReplicas(5, single)).toBe(5);
  });
});
