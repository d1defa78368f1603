// Editing a system: name, tags and DNS names, each sent only when changed (three admin routes,
// so a refused name does not stop the tags).
import { useState, type FormEvent, type ReactNode } from 'react';
import type { AdminSystem } from '../../src-shared/wire/admin.js';
import { api, errorText } from '../api.js';
import { ErrorLine, list } from '../components/ui.js';
import { loadSystems } from '../store/actions.js';

export function SystemEdit(props: { s: AdminSystem; path: string; done: () => void }): ReactNode {
  const { s } = props;
  const [name, setName] = useState(s.name);
  const [tags, setTags] = useState(s.tags.join(', '));
  const [dns, setDns] = useState(s.dnsNames.join(', '));
  const [error, setError] = useState<string | null>(null);
  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      if (name.trim() !== s.name) await api('POST', `${props.path}/name`, { name: name.trim() });
      if (list(tags).join(',') !== s.tags.join(',')) await api('POST', `${props.path}/tags`, { set: list(tags) });
      if (list(dns).join(',') !== s.dnsNames.join(',')) await api('POST', `${props.path}/dns`, { names: list(dns) });
      props.done();
    } catch (err) {
      setError(errorText(err));
    }
    void loadSystems();
  };
  return (
    <form className="inline-form" onSubmit={(e) => void save(e)} aria-label={`Edit ${s.name}`}>
      <label>
        Name
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Tags (comma-separated)
        <input name="tags" value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <label>
        DNS names (comma-separated)
        <input name="dns" value={dns} onChange={(e) => setDns(e.target.value)} />
      </label>
      <button type="submit" className="primary">
        Save
      </button>
      <button type="button" onClick={props.done}>
        Cancel
      </button>
      <ErrorLine text={error} />
    </form>
  );
}
