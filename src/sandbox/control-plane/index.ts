export { startKubeControlPlane, KUBE_CONTEXT, type KubeControlPlane, type KubeControlPlaneOptions } from './kube-control-plane.js';
export { findKubeBinaries, kubeBinDir, KubeBinariesMissingError, KUBE_VERSION, type KubeBinaries } from './kube-binaries.js';
export { ComponentStartError, ComponentProcess } from './component-process.js';
export { PkiError, type ControlPlanePki, type TokenIdentity } from './pki.js';
export { nodeSchedulable, waitForNodesReady } from './nodes-ready.js';
