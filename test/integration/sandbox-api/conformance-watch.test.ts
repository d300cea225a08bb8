import { watchSuite } from '../../conformance/suites/watch.js';

watchSuite();
