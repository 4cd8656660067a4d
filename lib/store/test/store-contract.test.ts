/**
 * The Store contract against both implementations: the slab store (what the server
 * runs) and MapStore (the reference model of the property test). A behaviour both pass
 * is one the model can be trusted to predict.
 */
import t from 'tap'
import { SlabStore } from '../slab-store.js'
import { MapStore } from './map-store.js'
import { storeContract } from './store-contract.js'

t.test('SlabStore', async (t) => {
  storeContract(t, (clock) => new SlabStore({ clock, memoryLimitBytes: 64 * 1024 * 1024 }))
})

t.test('MapStore (reference model)', async (t) => {
  storeContract(t, (clock) => new MapStore(clock))
})

t.test('SlabStore with small pages of memory and -n/-f changed keeps the contract', async (t) => {
  storeContract(t, (clock) => new SlabStore({ clock, memoryLimitBytes: 8 * 1024 * 1024, growthFactor: 2, minChunkBytes: 16, hashPower: 4 }))
})
