import { useId } from 'preact/hooks';
import { groupByBackend } from './models-api.ts';
import type { Models } from './use-models.ts';

/** The model choice: the server's models grouped by backend (`owned_by`). */
export function ModelPicker(props: { readonly models: Models; readonly disabled?: boolean }) {
  const id = useId();
  const { state, selected, select } = props.models;
  if (state.status !== 'ready') {
    return (
      <span class="model-picker muted" aria-live="polite">
        {state.status === 'loading' ? 'Loading models…' : 'No model'}
      </span>
    );
  }
  const groups = groupByBackend(state.models);
  return (
    <span class="model-picker">
      <label for={id}>Model</label>
      <select
        id={id}
        value={selected}
        disabled={props.disabled}
        onChange={(event) => select(event.currentTarget.value)}
      >
        {groups.map((group) => (
          <optgroup key={group.backend} label={group.backend}>
            {group.models.map((model) => (
              <option key={model.id} value={model.id}>
                {model.id}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
    </span>
  );
}
