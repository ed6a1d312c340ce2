import { initSync } from "./sightline.js";

let sharedImports = undefined;
function getSharedImports() {
    if (sharedImports === undefined) {
        sharedImports = { __wasm_split: {  } };
        const { __indirect_function_table, memory, __wasm_split_shared0,  } = initSync(undefined, undefined);
        Object.assign(sharedImports.__wasm_split, { __indirect_function_table, memory, __wasm_split_shared0,  });
    }
    return sharedImports;
}
function wrapAsyncCb(callee) {
    return async (callbackIndex, callbackData) => {
        let success;
        try {
            await callee();
            success = true;
        } catch (e) {
            console.error(e);
            success = false;
        } finally {
            const sharedImports = getSharedImports();
            sharedImports.__wasm_split.__indirect_function_table.get(callbackIndex)(callbackData, success);
        }
    }
}
function makeLoad(fetcher, deps) {
    const loader = async () => {
        const parallelStuff = deps.map(d => d());
        const instantiate = fetcher();
        await Promise.all(parallelStuff);
        const imports = getSharedImports();
        return instantiate(imports);
    };
    let loadingModule = undefined;
    return () => {
        if (loadingModule === undefined) {
            const thisLoad = loader();
            // Memoize successes only: a rejected load must not be cached for
            // the lifetime of the session, or one transient network failure
            // permanently breaks the module. Clearing on rejection lets the
            // next call (e.g. the Rust side re-invoking load after a failed
            // callback) start a fresh attempt.
            thisLoad.catch(() => {
                if (loadingModule === thisLoad) loadingModule = undefined;
            });
            loadingModule = thisLoad;
        }
        return loadingModule;
    }
}
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041 */
const __chunk_7 = makeLoad(() => {
    const src = fetch(new URL("./chunk_7.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074 */
const __chunk_8 = makeLoad(() => {
    const src = fetch(new URL("./chunk_8.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074, __events_route_view_11400442415793969003, __settings_route_view_6487327482314987606, __system_route_view_666044390303762652 */
const __chunk_9 = makeLoad(() => {
    const src = fetch(new URL("./chunk_9.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074, __events_route_view_11400442415793969003, __system_route_view_666044390303762652 */
const __chunk_10 = makeLoad(() => {
    const src = fetch(new URL("./chunk_10.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074, __settings_route_view_6487327482314987606, __system_route_view_666044390303762652 */
const __chunk_11 = makeLoad(() => {
    const src = fetch(new URL("./chunk_11.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074, __system_route_view_666044390303762652 */
const __chunk_12 = makeLoad(() => {
    const src = fetch(new URL("./chunk_12.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __endpoints_route_view_15455613314061818041, __system_route_view_666044390303762652 */
const __chunk_13 = makeLoad(() => {
    const src = fetch(new URL("./chunk_13.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __errors_route_view_17515711012104716074, __events_route_view_11400442415793969003, __settings_route_view_6487327482314987606, __system_route_view_666044390303762652 */
const __chunk_14 = makeLoad(() => {
    const src = fetch(new URL("./chunk_14.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __errors_route_view_17515711012104716074, __events_route_view_11400442415793969003, __system_route_view_666044390303762652 */
const __chunk_15 = makeLoad(() => {
    const src = fetch(new URL("./chunk_15.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __errors_route_view_17515711012104716074, __settings_route_view_6487327482314987606, __system_route_view_666044390303762652 */
const __chunk_16 = makeLoad(() => {
    const src = fetch(new URL("./chunk_16.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __errors_route_view_17515711012104716074, __system_route_view_666044390303762652 */
const __chunk_17 = makeLoad(() => {
    const src = fetch(new URL("./chunk_17.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __app_metrics_route_view_14052619600993920631, __system_route_view_666044390303762652 */
const __chunk_18 = makeLoad(() => {
    const src = fetch(new URL("./chunk_18.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074 */
const __chunk_19 = makeLoad(() => {
    const src = fetch(new URL("./chunk_19.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074, __events_route_view_11400442415793969003 */
const __chunk_20 = makeLoad(() => {
    const src = fetch(new URL("./chunk_20.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __endpoints_route_view_15455613314061818041, __errors_route_view_17515711012104716074, __settings_route_view_6487327482314987606 */
const __chunk_21 = makeLoad(() => {
    const src = fetch(new URL("./chunk_21.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __endpoints_route_view_15455613314061818041, __events_route_view_11400442415793969003 */
const __chunk_22 = makeLoad(() => {
    const src = fetch(new URL("./chunk_22.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __endpoints_route_view_15455613314061818041, __settings_route_view_6487327482314987606 */
const __chunk_23 = makeLoad(() => {
    const src = fetch(new URL("./chunk_23.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __errors_route_view_17515711012104716074, __events_route_view_11400442415793969003 */
const __chunk_24 = makeLoad(() => {
    const src = fetch(new URL("./chunk_24.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* __events_route_view_11400442415793969003, __settings_route_view_6487327482314987606 */
const __chunk_25 = makeLoad(() => {
    const src = fetch(new URL("./chunk_25.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
export const __wasm_split_load___system_route_view_666044390303762652 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split___system_route_view_666044390303762652.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_9, __chunk_10, __chunk_11, __chunk_12, __chunk_13, __chunk_14, __chunk_15, __chunk_16, __chunk_17, __chunk_18]));
export const __wasm_split_load___settings_route_view_6487327482314987606 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split___settings_route_view_6487327482314987606.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_9, __chunk_11, __chunk_14, __chunk_16, __chunk_21, __chunk_23, __chunk_25]));
export const __wasm_split_load___events_route_view_11400442415793969003 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split___events_route_view_11400442415793969003.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_9, __chunk_10, __chunk_14, __chunk_15, __chunk_20, __chunk_22, __chunk_24, __chunk_25]));
export const __wasm_split_load___errors_route_view_17515711012104716074 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split___errors_route_view_17515711012104716074.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_8, __chunk_9, __chunk_10, __chunk_11, __chunk_12, __chunk_14, __chunk_15, __chunk_16, __chunk_17, __chunk_19, __chunk_20, __chunk_21, __chunk_24]));
export const __wasm_split_load___endpoints_route_view_15455613314061818041 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split___endpoints_route_view_15455613314061818041.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_7, __chunk_8, __chunk_9, __chunk_10, __chunk_11, __chunk_12, __chunk_13, __chunk_19, __chunk_20, __chunk_21, __chunk_22, __chunk_23]));
export const __wasm_split_load___app_metrics_route_view_14052619600993920631 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split___app_metrics_route_view_14052619600993920631.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_7, __chunk_8, __chunk_9, __chunk_10, __chunk_11, __chunk_12, __chunk_13, __chunk_14, __chunk_15, __chunk_16, __chunk_17, __chunk_18]));
