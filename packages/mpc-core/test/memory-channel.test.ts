import { MemoryChannel } from '@mpcache/mpc-core';
import { describeChannel } from './channel-suite';

describeChannel('MemoryChannel', (a, b) => MemoryChannel.pair(a, b));
