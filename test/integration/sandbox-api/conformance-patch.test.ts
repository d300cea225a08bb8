import { patchSuite } from '../../conformance/suites/patch.js';

patchSuite();
