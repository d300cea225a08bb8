import { sandboxFaultsSuite } from '../../conformance/suites/sandbox-faults.js';

sandboxFaultsSuite();
