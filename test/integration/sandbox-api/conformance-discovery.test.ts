import { discoverySuite } from '../../conformance/suites/discovery.js';

discoverySuite();
