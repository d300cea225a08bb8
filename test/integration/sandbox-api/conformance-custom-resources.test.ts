import { customResourcesSuite } from '../../conformance/suites/custom-resources.js';

customResourcesSuite();
